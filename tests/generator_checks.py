"""Checks every synthetic family's tests repeat: the Sample contract, seeding, validation, and
a reference posterior computed independently with scipy's densities."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import special, stats
from spurbench.errors import ParameterError
from spurbench.generators.base import Generator


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_sample_contract(gen: Generator, n: int, shift: float, roles: tuple[str, ...]) -> None:
    """Shapes, dtypes and roles as declared; every class present; no spurious attribute."""
    s = gen.sample(n, shift, rng(100))
    assert s.X.shape == (n, len(roles)) and s.X.dtype == np.float64
    assert s.y.shape == (n,) and s.y.dtype == np.int64
    assert set(np.unique(s.y)) == set(range(gen.n_classes))
    assert s.roles == roles
    assert s.attr is None and s.group is None and s.X_counterfactual is None


def assert_seeded(gen: Generator, shift: float) -> None:
    """The same seed gives identical arrays (NaN in the same places); another seed differs."""
    a, b, c = (gen.sample(300, shift, rng(seed)) for seed in (11, 11, 12))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X, equal_nan=True)


def assert_rejected(cls: type, params: dict[str, Any], field: str) -> None:
    """Constructing `cls(**params)` raises a ParameterError that names `field`."""
    with pytest.raises(ParameterError) as excinfo:
        cls(**params)
    assert excinfo.value.field == field
    assert field in str(excinfo.value)


def reference_posterior(X: np.ndarray, means: np.ndarray, cov: np.ndarray,
                        prior: np.ndarray) -> np.ndarray:
    """P(y | x) for Gaussian classes sharing `cov`, from scipy.stats.multivariate_normal."""
    log_joint = np.column_stack([stats.multivariate_normal(mu, cov).logpdf(X) for mu in means])
    return special.softmax(log_joint + np.log(prior), axis=1)


def assert_calibrated(gen: Generator, shift: float, n: int = 40_000) -> None:
    """Where `posterior` is P(y | x) of the sampler, the accuracy of its argmax equals its mean top
    probability, and E[(1(y = k) - p_k(x)) p_k(x)] = 0 for each class k (each within 4 SE)."""
    from stat_checks import assert_mean

    s = gen.sample(n, shift, rng(12))
    p = gen.posterior(s.X, shift)
    assert_mean((p.argmax(axis=1) == s.y) - p.max(axis=1), 0.0, f"accuracy vs confidence at {shift}")
    for k in range(gen.n_classes):
        assert_mean(((s.y == k) - p[:, k]) * p[:, k], 0.0, f"calibration of class {k} at {shift}")


def assert_counterfactual_moves_only_the_spurious_block(gen: Generator, shift: float,
                                                        expected_move) -> None:
    """The counterfactual equals X outside the spurious columns and differs inside them by
    `expected_move(sample)`, an (n, n_spurious) array."""
    s = gen.sample(500, shift, rng(10))
    spurious = np.asarray(s.roles) == "spurious"
    np.testing.assert_array_equal(s.X_counterfactual[:, ~spurious], s.X[:, ~spurious])
    np.testing.assert_allclose(s.X_counterfactual[:, spurious] - s.X[:, spurious],
                               expected_move(s), atol=1e-12)
