"""A binary attribute seen through a Gaussian block: the shortcut of the newer synthetic families.

Shared by `xor_shortcut`, `many_shortcuts` and `label_noise_shortcut` (no registration here).
The block is N(means[a], I) with the two attribute means -+separation/2 along the all-ones
direction of the block (`_synthetic.spread_basis`), so every feature of the block carries the
attribute and the Mahalanobis distance between the two means is `separation`.
"""

from __future__ import annotations

import numpy as np
from spurbench.generators._synthetic import simplex_means, spread_basis


def block_means(width: int, separation: float) -> np.ndarray:
    """(2, width) means of the block for a = 0 and a = 1 (zeros when the block is empty)."""
    if width == 0:
        return np.zeros((2, 0))
    return simplex_means(2, separation) @ spread_basis(width, 1).T


def block_log_likelihood(block: np.ndarray, means: np.ndarray) -> np.ndarray:
    """(n, 2): log N(block; means[a], I) for a = 0, 1 up to a term shared by both values (the two
    means have the same norm, so only the cross term differs)."""
    return block @ means.T


def moved_block(X: np.ndarray, columns: slice, attr: np.ndarray, means: np.ndarray) -> np.ndarray:
    """X with the block moved from its attribute's mean to the other attribute's, noise kept:
    the counterfactual of flipping a binary attribute (computed when a test scores it)."""
    X_cf = X.copy()
    X_cf[:, columns] += means[1 - attr] - means[attr]
    return X_cf
