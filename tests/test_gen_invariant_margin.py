"""`invariant_margin` (Aubin et al. 2021, Example3): realised agreement, the published
construction, the posterior against scipy's densities, the closed form, calibration, the Sample
contract and validation.

Realised agreement allows 3 standard errors (as requested of the family); the other statistical
checks 4 (see `stat_checks`); exact checks 1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import (
    assert_calibrated,
    assert_counterfactual_moves_only_the_spurious_block,
    assert_rejected,
    assert_seeded,
    rng,
)
from scipy import special, stats
from spurbench.generators.invariant_margin import InvariantMargin
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_rate

LEVELS = (0.0, 0.5, 1.0)


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_agreement_is_within_3_se_of_the_requested_one(shift):
    gen = InvariantMargin()
    s = gen.sample(20_000, shift, rng(1))
    assert_rate(s.attr == s.y, gen.agreement(shift), f"P(a = y) at {shift}", tolerance=3.0)
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)


def test_features_have_the_published_means_and_noise():
    """Invariant features N(-+0.1, 0.01) by y (class 0 positive); spurious ones sit at
    +-mu_e of one of the environments, noise sd 0.1."""
    gen = InvariantMargin(n_envs=2)
    s = gen.sample(20_000, 0.0, rng(2))
    sigma = 1.0 - 2.0 * s.y
    for j in range(5):
        assert_mean(s.X[:, j] * sigma, 0.1, f"invariant feature {j} mean")
        assert_mean((s.X[:, j] - 0.1 * sigma) ** 2, 0.01, f"invariant feature {j} variance")
    spurious = s.X[:, 5:] * sigma[:, None]  # at shift 0 the block points along sigma_y mu_e
    distances = np.linalg.norm(spurious[:, None, :] - gen.env_means[None], axis=2)
    nearest = distances.argmin(axis=1)
    assert_rate(nearest == 0, 0.5, "environment 0 share")
    residual = spurious - gen.env_means[nearest]
    assert_mean(residual[:, 0] ** 2, 0.01, "spurious noise variance")


def _reference_posterior(gen: InvariantMargin, X: np.ndarray, shift: float, core_only: bool):
    rho, sd = gen.agreement(shift), gen.noise_sd
    inv, spu = X[:, : gen.dim_inv], X[:, gen.dim_inv :]
    log_joint = np.zeros((len(X), 2))
    for y in (0, 1):
        sigma = 1.0 - 2.0 * y
        log_joint[:, y] = stats.multivariate_normal(np.full(gen.dim_inv, sigma * gen.margin),
                                                    sd**2 * np.eye(gen.dim_inv)).logpdf(inv)
        if not core_only:
            per_attr = [special.logsumexp(
                [stats.multivariate_normal((1.0 - 2.0 * a) * mu, sd**2 * np.eye(gen.dim_spu)).logpdf(spu)
                 for mu in gen.env_means], axis=0) - np.log(gen.n_envs) for a in (0, 1)]
            with np.errstate(divide="ignore"):
                log_joint[:, y] += np.logaddexp(np.log(rho) + per_attr[y],
                                                np.log1p(-rho) + per_attr[1 - y])
    return special.softmax(log_joint, axis=1)


@pytest.mark.parametrize("params", [dict(margin=0.05), dict(n_envs=4, dim_spu=3, noise_sd=0.5)])
def test_posterior_matches_bayes_rule_on_scipy_densities(params):
    gen = InvariantMargin(**params)
    for shift in (0.3, 0.8, 1.0):
        X = gen.sample(300, shift, rng(3)).X
        np.testing.assert_allclose(gen.posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=False), atol=1e-8)
        np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=True), atol=1e-8)


@pytest.mark.parametrize("shift", LEVELS)
def test_closed_form_matches_monte_carlo_and_the_posterior_is_calibrated(shift):
    gen = InvariantMargin(margin=0.05, noise_sd=0.2, n_envs=4)  # accuracies away from 1
    s = gen.sample(40_000, shift, rng(4))
    expected = stats.norm.cdf(0.05 * np.sqrt(5) / 0.2)
    assert gen.invariant_accuracy(shift) == pytest.approx(expected, abs=1e-12)
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y, expected,
                f"invariant at {shift}")
    if gen.bayes_accuracy(shift) is not None:
        assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, gen.bayes_accuracy(shift),
                    f"bayes at {shift}")
    assert_calibrated(gen, shift)


def test_published_invariant_accuracy_is_phi_of_root_five_and_bayes_equals_it_at_shift_one():
    gen = InvariantMargin()
    assert gen.invariant_accuracy(0.0) == pytest.approx(stats.norm.cdf(np.sqrt(5.0)), abs=1e-12)
    assert gen.bayes_accuracy(1.0) == gen.invariant_accuracy(1.0)
    assert gen.bayes_accuracy(0.0) is None


def test_environment_directions_are_fixed_by_env_seed():
    np.testing.assert_array_equal(InvariantMargin(env_seed=3).env_means,
                                  InvariantMargin(env_seed=3).env_means)
    assert not np.array_equal(InvariantMargin(env_seed=3).env_means, InvariantMargin().env_means)


def test_counterfactual_negates_the_spurious_mean():
    gen = InvariantMargin(n_envs=1)
    mu = gen.env_means[0]
    assert_counterfactual_moves_only_the_spurious_block(
        gen, 0.5, lambda s: -2.0 * (1.0 - 2.0 * s.attr)[:, None] * mu)


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(InvariantMargin(), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(dim_inv=0), "dim_inv"),
    (dict(dim_spu=0), "dim_spu"),
    (dict(n_envs=0), "n_envs"),
    (dict(n_envs=101), "n_envs"),
    (dict(env_seed=-1), "env_seed"),
    (dict(margin=0.0), "margin"),
    (dict(noise_sd=-0.1), "noise_sd"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(InvariantMargin, params, field)


@pytest.mark.parametrize("name", ["invariant_margin_3env", "invariant_margin_6env",
                                  "invariant_margin_spu20"])
def test_scenario_files_load(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    assert scenario.family == "invariant_margin" and len(scenario.shift_levels) == 3
    assert isinstance(scenario.generator(), InvariantMargin)
