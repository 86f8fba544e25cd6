"""A thin scikit-learn estimator over statsmodels' Logit (binary) and MNLogit (multi-class).

Why: the classical maximum-likelihood logistic regression with standard errors, on raw features
(no scaling, no penalty), next to sklearn's penalised one. ``coef_`` and its standard errors
``bse_`` are (n_classes - 1, d), class 0 being the reference (a binary problem has one row, the
log-odds of class 1, as in sklearn).

Perfect or quasi-perfect separation makes the MLE infinite: statsmodels then warns (perfect
separation, no convergence, singular Hessian) or raises. In any of these cases the fit falls
back to the L2-penalised likelihood ``loglike(b) - alpha / 2 * |b without intercepts|^2``,
maximised with L-BFGS on statsmodels' own log-likelihood and score; the standard errors are then
the square roots of the diagonal of the inverse penalised Hessian. ``method_`` records which fit
was used ("mle" or "l2").
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import optimize
from scipy.special import softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


def _failed_fit() -> tuple[type[Warning], ...]:
    """Warnings after which statsmodels' MLE is not to be trusted (statsmodels is imported on the
    first fit, so listing the models does not load it)."""
    from statsmodels.tools import sm_exceptions

    return (sm_exceptions.PerfectSeparationWarning, sm_exceptions.ConvergenceWarning,
            sm_exceptions.HessianInversionWarning, RuntimeWarning)


def _penalised_fit(model: Any, start: np.ndarray, alpha: float,
                   maxiter: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the L2-penalised log-likelihood; returns (params, standard errors), statsmodels' shape."""
    shape = start.shape
    penalty = np.ones(shape)
    penalty[0] = 0.0  # the intercept(s), first row of the design, are not penalised
    penalty = penalty.ravel(order="F")  # statsmodels flattens MNLogit params column by column

    def objective(b: np.ndarray) -> tuple[float, np.ndarray]:
        params = b.reshape(shape, order="F")
        value = -model.loglike(params) + 0.5 * alpha * np.sum(penalty * b**2)
        return value, -np.ravel(model.score(params)) + alpha * penalty * b

    result = optimize.minimize(objective, np.zeros(start.size), jac=True, method="L-BFGS-B",
                               options={"maxiter": maxiter * 10})
    params = result.x.reshape(shape, order="F")
    information = -model.hessian(params) + alpha * np.diag(penalty)
    bse = np.sqrt(np.clip(np.diag(np.linalg.pinv(information)), 0.0, None))
    return params, bse.reshape(shape, order="F")


class StatsmodelsLogit(ClassifierMixin, BaseEstimator):
    """Unpenalised (maximum-likelihood) logistic regression by statsmodels, with standard errors.

    Parameters
    ----------
    alpha : L2 penalty used only when the MLE fails (separation); see the module docstring.
    maxiter : Newton iterations for the MLE.

    Attributes
    ----------
    coef_, bse_ : (n_classes - 1, d) coefficients and their standard errors.
    intercept_ : (n_classes - 1,) intercepts.
    method_ : "mle" or "l2".
    """

    def __init__(self, alpha: float = 1.0, maxiter: int = 100):
        self.alpha = alpha
        self.maxiter = maxiter

    def fit(self, X: Any, y: Any) -> StatsmodelsLogit:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"statsmodels_logit needs at least two classes in y; got 1 class "
                             f"({self.classes_[0]!r})")
        from statsmodels.discrete.discrete_model import Logit, MNLogit

        design = np.column_stack([np.ones(len(X)), X])
        model = (Logit if len(self.classes_) == 2 else MNLogit)(y_index, design)
        params, bse = self._fit_mle(model)
        if params is None:
            self.method_ = "l2"
            binary = len(self.classes_) == 2
            start = np.zeros(design.shape[1] if binary else (design.shape[1], len(self.classes_) - 1))
            params, bse = _penalised_fit(model, start, self.alpha, self.maxiter)
        params, bse = params.reshape(len(design.T), -1), bse.reshape(len(design.T), -1)
        self.intercept_, self.coef_, self.bse_ = params[0], params[1:].T, bse[1:].T
        return self

    def _fit_mle(self, model: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
        """statsmodels' Newton MLE, or (None, None) when it warns or fails (see module docstring)."""
        from statsmodels.tools import sm_exceptions

        self.method_ = "mle"
        with warnings.catch_warnings():
            for category in _failed_fit():
                warnings.simplefilter("error", category)
            try:
                result = model.fit(method="newton", maxiter=self.maxiter, disp=False)
                params, bse = np.asarray(result.params), np.asarray(result.bse)
            except (*_failed_fit(), sm_exceptions.PerfectSeparationError, np.linalg.LinAlgError):
                return None, None
        if not (result.mle_retvals["converged"] and np.all(np.isfinite(bse))):
            return None, None
        return params, bse

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        logits = X @ self.coef_.T + self.intercept_  # log-odds against class 0
        return softmax(np.column_stack([np.zeros(len(logits)), logits]), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
