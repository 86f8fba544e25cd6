"""The shared skeleton of our generative classifiers: P(y | x) ∝ p(x | y) P(y).

A subclass says how to fit one density per class (`_fit_classes`), how to evaluate it
(`class_log_density`) and how to draw from it (`_sample_class`); this base class handles the
scikit-learn contract (validation, `classes_`, priors, probabilities) and the two capabilities
the harness reads from the registry tags:

* ``sample(n, y, rng)``: draw `n` examples of class `y` from the fitted density;
* missing features: a subclass with ``marginalises_missing = True`` accepts NaN at predict time
  and evaluates the marginal density of the observed features (training data must be complete).
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


def log_scale_correction(X: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per row, the log-Jacobian of standardising the observed features of `X`.

    A density fitted to standardised data gives log p(x) in original units after subtracting
    the sum of log(scale) over the features that are observed (not NaN) in that row.
    """
    return (~np.isnan(X)) @ np.log(scale)


class ClassConditionalClassifier(ClassifierMixin, BaseEstimator, metaclass=abc.ABCMeta):
    """Base class: one density per class, priors = training class frequencies, Bayes' rule."""

    marginalises_missing: ClassVar[bool] = False
    # Each subclass declares what its parameters may be, as scikit-learn's estimators do; `fit`
    # checks them before anything else (`InvalidParameterError`, naming the parameter).
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    def fit(self, X: Any, y: Any) -> ClassConditionalClassifier:
        """Fit one density per class on complete training data (NaN is rejected here)."""
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_index, counts = np.unique(y, return_inverse=True, return_counts=True)
        self.class_prior_ = counts / counts.sum()
        self._fit_classes(X, y_index)
        return self

    @abc.abstractmethod
    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        """Estimate each class's density from its rows (`y_index` indexes `classes_`)."""

    @abc.abstractmethod
    def class_log_density(self, X: Any) -> np.ndarray:
        """log p(x | y = k) for every row and class, shape (n, n_classes)."""

    @abc.abstractmethod
    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` draws from the density of class index `k`."""

    def _validated(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        finite = "allow-nan" if self.marginalises_missing else True
        return validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=finite)

    def predict_joint_log_proba(self, X: Any) -> np.ndarray:
        """log p(x, y = k) = log p(x | y = k) + log P(y = k), shape (n, n_classes)."""
        return self.class_log_density(X) + np.log(self.class_prior_)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        joint = self.predict_joint_log_proba(X)
        return joint - logsumexp(joint, axis=1, keepdims=True)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        joint = self.predict_joint_log_proba(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def sample(self, n: int, y: Any, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw `n` examples of class `y` from the fitted class-conditional density, (n, d)."""
        check_is_fitted(self)
        matches = np.flatnonzero(self.classes_ == y)
        if matches.size == 0:
            raise ValueError(f"class {y!r} is not one of the fitted classes {list(self.classes_)}")
        return self._sample_class(int(matches[0]), int(n), np.random.default_rng(rng))
