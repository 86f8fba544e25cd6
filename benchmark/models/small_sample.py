"""Discriminative models whose fixed hyper-parameters need a minimum training size, made to work
at any size by a rule that reads only the training data.

The learning-curve scenarios start at a couple of rows per class, where k = 15 neighbours, 3-fold
calibration or a 10% early-stopping split do not exist. Each class below builds its sklearn
estimator at fit time from the training size and delegates to it; from the sizes the main
scenarios use upwards, the rule changes nothing:

* `CappedKNeighbors`: k = min(n_neighbors, number of training rows);
* `CalibratedLinearSVC`: Platt scaling by min(cv, smallest class count)-fold cross-validation;
  with a class of one row, Platt scaling on the training decision values themselves;
* `SmallSampleMLP`: early stopping (10% validation split) only when that split can hold two
  rows of every class; otherwise training stops when the training loss stalls (sklearn's rule).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.svm import LinearSVC
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data


class SizeAwareClassifier(ClassifierMixin, BaseEstimator, metaclass=abc.ABCMeta):
    """Base: `_make(X, y, counts)` builds the inner estimator ``estimator_`` from the training data."""

    @abc.abstractmethod
    def _make(self, X: np.ndarray, y: np.ndarray, counts: np.ndarray) -> Any:
        """The unfitted inner estimator, sized for these training data (`counts` per class)."""

    def fit(self, X: Any, y: Any) -> SizeAwareClassifier:
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, counts = np.unique(y, return_counts=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs at least two classes in y; got 1 class")
        self.estimator_ = self._make(X, y, counts).fit(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.estimator_.predict_proba(validate_data(self, X, reset=False))

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class CappedKNeighbors(SizeAwareClassifier):
    """k nearest neighbours (uniform weights, Euclidean), k = min(n_neighbors, training rows)."""

    def __init__(self, n_neighbors: int = 15):
        self.n_neighbors = n_neighbors

    def _make(self, X: np.ndarray, y: np.ndarray, counts: np.ndarray) -> KNeighborsClassifier:
        return KNeighborsClassifier(n_neighbors=min(self.n_neighbors, len(X)), n_jobs=1)


class CalibratedLinearSVC(SizeAwareClassifier):
    """Linear SVM (squared hinge) with Platt-scaled probabilities, folds capped by the class sizes."""

    def __init__(self, C: float = 1.0, cv: int = 3, random_state: int | None = None):
        self.C = C
        self.cv = cv
        self.random_state = random_state

    def _make(self, X: np.ndarray, y: np.ndarray, counts: np.ndarray) -> CalibratedClassifierCV:
        svm = LinearSVC(C=self.C, random_state=self.random_state)
        folds = min(self.cv, int(counts.min()))
        if folds >= 2:
            return CalibratedClassifierCV(svm, method="sigmoid", cv=folds)
        # In-sample Platt scaling: the fitted SVM is frozen, and one "split" whose test part is
        # every row hands all training decision values to the sigmoid.
        every_row = np.arange(len(X))
        return CalibratedClassifierCV(FrozenEstimator(svm.fit(X, y)), method="sigmoid",
                                      cv=[(every_row, every_row)])


class SmallSampleMLP(SizeAwareClassifier):
    """ReLU MLP trained with Adam; early stopping when there are enough rows to validate on."""

    def __init__(self, hidden_layer_sizes: tuple[int, ...] = (64, 64), alpha: float = 1e-4,
                 max_iter: int = 200, validation_fraction: float = 0.1,
                 random_state: int | None = None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _make(self, X: np.ndarray, y: np.ndarray, counts: np.ndarray) -> MLPClassifier:
        validation_rows = int(np.ceil(self.validation_fraction * len(X)))
        early = validation_rows >= 2 * len(counts) and counts.min() >= 2
        return MLPClassifier(hidden_layer_sizes=self.hidden_layer_sizes, alpha=self.alpha,
                             max_iter=self.max_iter,
                             early_stopping=early, validation_fraction=self.validation_fraction,
                             random_state=self.random_state)

    def fit(self, X: Any, y: Any) -> SmallSampleMLP:
        super().fit(X, y)
        self.n_iter_ = self.estimator_.n_iter_  # epochs run, as sklearn's iterative models report
        return self
