"""One rule for the scale a feature is standardised by, shared by every model and generator.

A feature is constant when its standard deviation is below ``CONSTANT_TOLERANCE * max(1, |mean|)``,
not only when it is exactly 0: the mean of n equal floats is rounded, so a pixel that never changes
within a class comes out with a standard deviation of about 1e-17. Dividing by that turns any
other value into ~1e17 standard deviations and a Gaussian log density into ~-1e37, which decides
every prediction (`neural_flow` scored at chance on the digits scenarios). A constant feature gets
scale 1, so it is centred and otherwise left alone. scikit-learn's `StandardScaler` (used inside
some pipelines) applies its own equivalent rule, and needs nothing from here.
"""

from __future__ import annotations

import numpy as np

CONSTANT_TOLERANCE = 1e-12  # relative to max(1, |mean|): far above rounding, far below any real spread


def constant_features(scale: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Whether each feature with standard deviation `scale` and mean `mean` is constant."""
    return np.asarray(scale, dtype=float) < CONSTANT_TOLERANCE * np.maximum(1.0, np.abs(mean))


def safe_scale(scale: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """`scale` with every constant feature's entry (see the module docstring) replaced by 1."""
    return np.where(constant_features(scale, mean), 1.0, scale)


def standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of `X`; a constant feature gets scale 1."""
    mean = X.mean(axis=0)
    return mean, safe_scale(X.std(axis=0), mean)
