"""Gaussian class-conditional classifiers (naive Bayes, LDA, QDA) that marginalise missing features.

One estimator, `GaussianClassifier`, covers the Gaussian generative zoo by the structure of its
class covariances:

* ``"diag"``: one variance per feature and class: Gaussian naive Bayes (= sklearn's GaussianNB);
* ``"tied_diag"``: one variance per feature shared by all classes: the naive Bayes of Ng & Jordan
  (2001), i.e. LDA with a diagonal covariance;
* ``"tied"``: one full covariance shared by all classes: LDA (= sklearn's
  LinearDiscriminantAnalysis; ``shrinkage="ledoit_wolf"`` = its ``shrinkage="auto"``);
* ``"full"``: one full covariance per class: QDA, regularised as
  ``(1 - reg_param) * cov + reg_param * I`` like sklearn's QuadraticDiscriminantAnalysis.

Covariances are maximum-likelihood (divide by n) and pooled with the class frequencies, as
sklearn does; ``var_smoothing`` times the largest feature variance (1 if every feature is
constant by `spurbench.evaluation.scaling`'s rule) is added to every diagonal (as in GaussianNB) so that a
constant feature keeps the density proper. Own estimators rather than
sklearn's so that every model can draw samples and evaluate the marginal density of the observed
features when some are NaN: the exact Bayes answer to missing data, instead of imputation.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from scipy import linalg
from sklearn.covariance import ledoit_wolf
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from spurbench.evaluation.scaling import constant_features, standardizer
from spurbench.models.class_conditional import ClassConditionalClassifier

COVARIANCE_TYPES = ("full", "tied", "diag", "tied_diag")
SHRINKAGE = (None, "ledoit_wolf")
LOG_2PI = np.log(2.0 * np.pi)


def diagonal_gaussian_log_density(X: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """log N(x_obs; mean_obs, diag(var_obs)) per row of `X` and row of `means`, shape (n, m).

    NaN entries of `X` are missing: their terms are dropped, which is the exact marginal of a
    diagonal Gaussian. Written as three matrix products so that no (n, m, d) array is built.
    """
    observed = ~np.isnan(X)
    X0 = np.where(observed, X, 0.0)
    precision = 1.0 / variances
    quadratic = (X0**2) @ precision.T - 2.0 * X0 @ (means * precision).T
    constant = observed @ (means**2 * precision + np.log(variances) + LOG_2PI).T
    return -0.5 * (quadratic + constant)


def _full_log_density(X: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    chol = linalg.cholesky(covariance, lower=True)
    z = linalg.solve_triangular(chol, (X - mean).T, lower=True)
    return -0.5 * (np.sum(z**2, axis=0) + X.shape[1] * LOG_2PI) - np.sum(np.log(np.diag(chol)))


def gaussian_log_density(X: np.ndarray, means: np.ndarray, covariances: np.ndarray) -> np.ndarray:
    """log N(x_obs; mean_obs, cov_obs,obs) per row of `X` and component, shape (n, m).

    `means` is (m, d), `covariances` (m, d, d). Rows are grouped by their pattern of missing (NaN)
    features so that each sub-covariance is factorised once per pattern, not once per row; a row
    with every feature missing has log-density 0 (the marginal over nothing).
    """
    missing = np.isnan(X)
    if not missing.any():
        return np.column_stack([_full_log_density(X, m, c) for m, c in zip(means, covariances,
                                                                             strict=True)])
    out = np.zeros((X.shape[0], means.shape[0]))
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    for p, pattern in enumerate(patterns):
        observed = np.flatnonzero(~pattern)
        if observed.size == 0:
            continue
        rows = inverse == p
        Xo = X[np.ix_(rows, observed)]
        for j in range(means.shape[0]):
            out[rows, j] = _full_log_density(
                Xo, means[j, observed], covariances[j][np.ix_(observed, observed)])
    return out


def sample_gaussian(mean: np.ndarray, covariance: np.ndarray, n: int,
                    rng: np.random.Generator) -> np.ndarray:
    """`n` draws from N(mean, covariance), shape (n, d)."""
    chol = linalg.cholesky(covariance, lower=True)
    return mean + rng.standard_normal((n, mean.shape[0])) @ chol.T


def _empirical_covariance(X: np.ndarray) -> np.ndarray:
    centred = X - X.mean(axis=0)
    return centred.T @ centred / X.shape[0]


def _ledoit_wolf_covariance(X: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrinkage on standardised features, rescaled (sklearn LDA's "auto")."""
    if len(X) < 2:  # one row: no spread to shrink
        return np.zeros((X.shape[1], X.shape[1]))
    _, scale = standardizer(X)
    shrunk = ledoit_wolf(X / scale)[0]
    return scale[:, None] * shrunk * scale[None, :]


class GaussianClassifier(ClassConditionalClassifier):
    """Gaussian class-conditional classifier; `covariance` picks naive Bayes, LDA or QDA.

    Parameters
    ----------
    covariance : one of ``COVARIANCE_TYPES`` (see the module docstring).
    shrinkage : None or "ledoit_wolf" (per-class Ledoit-Wolf estimate before pooling).
    reg_param : QDA-style regularisation toward the identity, in [0, 1].
    var_smoothing : fraction of the largest feature variance added to every variance.

    Attributes
    ----------
    means_ : (n_classes, d) class means.
    covariances_ : (n_classes, d, d) class covariances (equal across classes when tied,
        diagonal for the naive Bayes types).
    class_prior_ : training class frequencies.
    """

    marginalises_missing = True
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "covariance": [StrOptions(set(COVARIANCE_TYPES))],
        "shrinkage": [StrOptions({s for s in SHRINKAGE if s}), None],
        "reg_param": [Interval(Real, 0, 1, closed="both")],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, covariance: str = "full", shrinkage: str | None = None,
                 reg_param: float = 0.0, var_smoothing: float = 1e-9):
        self.covariance = covariance
        self.shrinkage = shrinkage
        self.reg_param = reg_param
        self.var_smoothing = var_smoothing

    @property
    def _diagonal(self) -> bool:
        return self.covariance in ("diag", "tied_diag")

    def _class_moments(self, X: np.ndarray, y_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each class's mean and covariance estimate, (n_classes, d) and (n_classes, d, d)."""
        estimate = _ledoit_wolf_covariance if self.shrinkage else _empirical_covariance
        groups = [X[y_index == k] for k in range(len(self.classes_))]
        return np.stack([g.mean(axis=0) for g in groups]), np.stack([estimate(g) for g in groups])

    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        self.means_, covariances = self._class_moments(X, y_index)
        if self._diagonal:
            covariances = np.stack([np.diag(np.diag(c)) for c in covariances])
        if self.covariance.startswith("tied"):
            covariances[:] = np.tensordot(self.class_prior_, covariances, axes=1)
        identity = np.eye(X.shape[1])
        covariances = (1.0 - self.reg_param) * covariances + self.reg_param * identity
        variances = X.var(axis=0)
        varying = variances[~constant_features(np.sqrt(variances), X.mean(axis=0))]
        epsilon = self.var_smoothing * (varying.max() if varying.size else 1.0)
        self.covariances_ = covariances + epsilon * identity

    def class_log_density(self, X: np.ndarray) -> np.ndarray:
        X = self._validated(X)
        if self._diagonal:
            variances = np.diagonal(self.covariances_, axis1=1, axis2=2)
            return diagonal_gaussian_log_density(X, self.means_, variances)
        return gaussian_log_density(X, self.means_, self.covariances_)

    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        return sample_gaussian(self.means_[k], self.covariances_[k], n, rng)

    def discriminant_coefficients(self) -> np.ndarray:
        """Linear discriminant coefficients pooled_cov^-1 (mean_k - overall mean), (n_classes, d),
        with the class covariances pooled by class frequency: LDA's own coefficients, |mean
        difference| / pooled variance per feature for the naive Bayes types, the linear part of
        the rule for QDA. What feature importance reads (`spurbench.evaluation.importance`), so that no
        other module reads this model's moments."""
        check_is_fitted(self)
        pooled = np.tensordot(self.class_prior_, self.covariances_, axes=1)
        centred = self.means_ - self.class_prior_ @ self.means_
        return np.linalg.solve(pooled, centred.T).T
