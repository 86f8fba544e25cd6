"""Degenerate fits, flagged per row so the report can exclude them by a stated rule.

A flag describes the fit, not one test level, so every row of a fit carries the same flags:

* ``singular_covariance``: a full (non-diagonal) class or shared covariance whose smallest
  eigenvalue is below ``SINGULAR_RATIO`` times its largest, i.e. held up only by numerical
  smoothing (plain LDA with more features than rows, constant pixels).
* ``chance_fit``: training accuracy at most one row above the training majority rate: on its own
  training rows the model does no better than always predicting the majority class (an
  early-stopped network that collapsed to a constant). Both rates are counted on the same rows,
  so there is no sampling noise to allow for; a weak but real fit is not flagged.
* ``not_converged``: the fit emitted a ConvergenceWarning (scikit-learn's or statsmodels').
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

FLAGS = ("chance_fit", "not_converged", "singular_covariance")
SINGULAR_RATIO = 1e-8


def _final(estimator: Any) -> Any:
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _matrices(covariances: Any) -> list[np.ndarray]:
    """Every square matrix in `covariances`: one per class, or per class and mixture component
    (a list of arrays of different lengths when classes have different numbers of components)."""
    array = np.asarray(covariances, dtype=float) if not isinstance(covariances, list) else None
    if array is not None and array.ndim == 2:
        return [array] if array.shape[0] == array.shape[1] > 1 else []
    return [m for part in (covariances if array is None else array) for m in _matrices(part)]


def _singular(estimator: Any) -> bool:
    covariances = getattr(_final(estimator), "covariances_", None)
    if covariances is None or (not isinstance(covariances, list) and np.ndim(covariances) < 3):
        return False  # none, or per-class variances (K, d): diagonal, nothing to be singular
    for cov in _matrices(covariances):
        if np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
            continue  # diagonal (naive Bayes): no joint structure to be singular
        eig = np.linalg.eigvalsh(cov)
        if eig[0] < SINGULAR_RATIO * eig[-1]:
            return True
    return False


def chance_fit(train_accuracy: float, y_train: np.ndarray) -> bool:
    """Whether `train_accuracy` is at most one row above the training majority rate."""
    majority = np.bincount(y_train).max() / len(y_train)
    return train_accuracy <= majority + 1.0 / len(y_train) + 1e-12


def fit_flags(estimator: Any, caught: list[warnings.WarningMessage], train_accuracy: float,
              y_train: np.ndarray) -> str:
    """The fit's flags (see the module docstring), sorted and comma-separated; '' when none."""
    flags = set()
    if any(type(w.message).__name__ == "ConvergenceWarning"
           or (isinstance(w.message, Warning) and "converge" in str(w.message).lower())
           for w in caught):
        flags.add("not_converged")
    if _singular(estimator):
        flags.add("singular_covariance")
    if chance_fit(train_accuracy, y_train):
        flags.add("chance_fit")
    return ",".join(sorted(flags))
