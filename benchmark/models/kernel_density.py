"""Class-conditional Gaussian kernel density estimates on standardised features.

Features are standardised with the pooled training mean and standard deviation; each class's
density is the average of isotropic Gaussian kernels of width h centred on its training rows,
with h from Scott's rule ``n_k ** (-1 / (d + 4))`` (``bandwidth="scott"``, the default),
Silverman's ``(n_k * (d + 2) / 4) ** (-1 / (d + 4))`` or a fixed number. These rules assume unit
variance per feature, hence the standardisation.

The kernel sums are computed with matrix products (squared distances as ``|x|^2 - 2 x.t + |t|^2``)
in blocks of test rows, which is much faster than a tree search in tens of dimensions. A product
of one-dimensional Gaussian kernels marginalises by dropping the missing features, so NaN
features at predict time are handled exactly. Samples: a random training row of the class plus
kernel noise.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.utils._param_validation import Interval, StrOptions
from spurbench.evaluation.scaling import standardizer
from spurbench.models.class_conditional import ClassConditionalClassifier, log_scale_correction

BANDWIDTH_RULES = ("scott", "silverman")
BLOCK_ENTRIES = 4_000_000  # test rows x training rows per block: bounds memory to ~32 MB


def bandwidth_for(rule: str | float, n: int, d: int) -> float:
    """The kernel width for `n` standardised points in `d` dimensions."""
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    if rule == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    return float(rule)


def _kernel_log_density(Z: np.ndarray, points: np.ndarray, h: float) -> np.ndarray:
    """log of the average Gaussian kernel (width h) over `points`, per row of Z; NaN marginalised."""
    observed = ~np.isnan(Z)
    Z0 = np.where(observed, Z, 0.0)
    out = np.empty(Z.shape[0])
    block = max(1, BLOCK_ENTRIES // max(1, points.shape[0]))
    for start in range(0, Z.shape[0], block):
        rows = slice(start, start + block)
        squared = ((Z0[rows] ** 2).sum(axis=1)[:, None] - 2.0 * Z0[rows] @ points.T
                   + observed[rows] @ (points**2).T)
        out[rows] = logsumexp(-0.5 * np.maximum(squared, 0.0) / h**2, axis=1)
    n_observed = observed.sum(axis=1)
    return out - np.log(points.shape[0]) - 0.5 * n_observed * np.log(2.0 * np.pi * h**2)


class KernelDensityClassifier(ClassConditionalClassifier):
    """One Gaussian kernel density estimate per class on standardised features.

    Parameters
    ----------
    bandwidth : "scott", "silverman" or a positive number (in standardised units).

    Attributes
    ----------
    points_ : per class, its standardised training rows.
    bandwidths_ : (n_classes,) kernel width per class.
    """

    marginalises_missing = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "bandwidth": [StrOptions(set(BANDWIDTH_RULES)), Interval(Real, 0, None, closed="neither")]}

    def __init__(self, bandwidth: str | float = "scott"):
        self.bandwidth = bandwidth

    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        self.mean_, self.scale_ = standardizer(X)
        Z = (X - self.mean_) / self.scale_
        self.points_ = [Z[y_index == k] for k in range(len(self.classes_))]
        self.bandwidths_ = np.array([bandwidth_for(self.bandwidth, len(p), X.shape[1])
                                     for p in self.points_])

    def class_log_density(self, X: np.ndarray) -> np.ndarray:
        X = self._validated(X)
        Z = (X - self.mean_) / self.scale_
        columns = [_kernel_log_density(Z, p, h) for p, h in zip(self.points_, self.bandwidths_,
                                                                  strict=True)]
        return np.column_stack(columns) - log_scale_correction(X, self.scale_)[:, None]

    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        points = self.points_[k]
        centres = points[rng.integers(0, len(points), size=n)]
        Z = centres + self.bandwidths_[k] * rng.standard_normal(centres.shape)
        return self.mean_ + Z * self.scale_
