"""`noise_shift`: the corruption has the declared variance and rescaling, the posterior is exact
at every severity, the closed forms match Monte Carlo, and the Bayes rule dominates fitted models.

Statistical checks allow 4 standard errors (see `stat_checks`); exact checks use 1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import (
    assert_rejected,
    assert_sample_contract,
    assert_seeded,
    reference_posterior,
    rng,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.generators.noise_shift import NoiseShift
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)
CONFIGS = {
    "default": {},
    "rescaled_with_noise_features": dict(n_noise=3, rescale_fraction=0.5, rescale_factor=0.3),
    "three_classes": dict(n_classes=3, n_core=3, n_noise=1, separation=3.5, max_noise=2.0),
    "three_classes_rescaled": dict(n_classes=3, n_core=3, rescale_fraction=1.0, rescale_factor=2.0),
}


# ---- the corruption ---------------------------------------------------------------------------

@pytest.mark.parametrize("shift", [0.25, 0.5, 1.0])
def test_added_noise_has_the_declared_variance(shift):
    """The same rng draws the same clean sample at every level, so X_s - scale * X_0 is exactly
    the corruption noise: its squares must average noise_sd(s)^2."""
    gen = NoiseShift(n_noise=2, max_noise=2.0, rescale_fraction=0.5, rescale_factor=0.5)
    clean, corrupted = (gen.sample(10_000, s, rng(1)).X for s in (0.0, shift))
    noise = corrupted - gen.feature_scale(shift) * clean
    assert_mean(noise.ravel() ** 2, gen.noise_sd(shift) ** 2, f"noise variance at {shift}")


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0])
def test_within_class_moments_match_the_declared_corrupted_distribution(shift):
    gen = NoiseShift(**CONFIGS["rescaled_with_noise_features"])
    s = gen.sample(20_000, shift, rng(2))
    means, cov = gen.distribution(shift)
    residual = s.X - means[s.y]
    for j in range(s.X.shape[1]):
        assert_mean(residual[:, j], 0.0, f"feature {j} mean at {shift}")
        assert_mean(residual[:, j] ** 2, cov[j, j], f"feature {j} variance at {shift}")


def test_rescaling_multiplies_exactly_the_chosen_features():
    gen = NoiseShift(n_core=3, n_noise=5, max_noise=0.0, rescale_fraction=0.25, rescale_factor=3.0)
    assert len(gen.rescaled) == 2
    clean, shifted = (gen.sample(50, s, rng(3)).X for s in (0.0, 0.5))
    expected = np.ones(8)
    expected[gen.rescaled] = 2.0
    np.testing.assert_allclose(shifted, clean * expected, rtol=1e-12)


def test_rescaled_subset_is_fixed_by_its_seed():
    subsets = [tuple(NoiseShift(n_core=10, rescale_fraction=0.3, rescale_seed=seed).rescaled)
               for seed in (0, 0, 1, 2)]
    assert subsets[0] == subsets[1]
    assert len(set(subsets)) > 1


@settings(max_examples=50, deadline=None)
@given(max_noise=st.floats(0, 10), factor=st.floats(0.01, 10), a=st.floats(0, 1), b=st.floats(0, 1))
def test_severity_grows_linearly_from_clean_to_the_maximum(max_noise, factor, a, b):
    gen = NoiseShift(max_noise=max_noise, rescale_fraction=1.0, rescale_factor=factor)
    assert gen.noise_sd(0.0) == 0.0 and gen.noise_sd(1.0) == pytest.approx(max_noise)
    np.testing.assert_array_equal(gen.feature_scale(0.0), 1.0)
    np.testing.assert_allclose(gen.feature_scale(1.0), factor)
    lo, hi = sorted((a, b))
    assert gen.noise_sd(lo) <= gen.noise_sd(hi) + 1e-12
    assert abs(gen.feature_scale(lo)[0] - 1) <= abs(gen.feature_scale(hi)[0] - 1) + 1e-12


# ---- exact posterior, closed forms, oracle ----------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_matches_bayes_rule_on_scipy_densities(name):
    gen = NoiseShift(**CONFIGS[name])
    for shift in (0.0, 0.3, 1.0):
        X = gen.sample(300, shift, rng(4)).X
        means, cov = gen.distribution(shift)
        expected = reference_posterior(X, means, cov, gen.prior)
        np.testing.assert_allclose(gen.posterior(X, shift), expected, atol=1e-8)
        np.testing.assert_allclose(gen.invariant_posterior(X, shift), expected, atol=1e-8)


@pytest.mark.parametrize("name", ["default", "rescaled_with_noise_features", "three_classes"])
@pytest.mark.parametrize("shift", LEVELS)
def test_closed_form_accuracy_matches_monte_carlo_accuracy_of_the_posterior(name, shift):
    gen = NoiseShift(**CONFIGS[name])
    s = gen.sample(40_000, shift, rng(5))
    correct = gen.posterior(s.X, shift).argmax(axis=1) == s.y
    assert_rate(correct, gen.bayes_accuracy(shift), f"{name} at {shift}")
    assert gen.invariant_accuracy(shift) == gen.bayes_accuracy(shift)


def test_two_class_accuracy_is_phi_of_half_the_separation_shrunk_by_the_noise():
    gen = NoiseShift(n_core=5, n_noise=2, separation=2.4, max_noise=1.0)
    for shift in (0.0, 0.5, 1.0):
        shrunk = 2.4 / np.sqrt(1 + gen.noise_sd(shift) ** 2)
        assert gen.bayes_accuracy(shift) == pytest.approx(stats.norm.cdf(shrunk / 2), abs=1e-12)


def test_multi_class_accuracy_is_none_once_core_features_are_rescaled():
    assert NoiseShift(**CONFIGS["three_classes_rescaled"]).bayes_accuracy(0.5) is None


@pytest.mark.parametrize("name", ["default", "rescaled_with_noise_features", "three_classes_rescaled"])
def test_bayes_oracle_is_at_least_as_accurate_as_fitted_models(name):
    gen = NoiseShift(**CONFIGS[name])
    train = gen.sample(1000, 0.0, rng(6))
    models = [LogisticRegression().fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(7))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y,
                             f"{name} {type(model).__name__} at {shift}")


# ---- the Sample contract, seeding, validation -------------------------------------------------

def test_sample_has_declared_shapes_dtypes_and_roles():
    gen = NoiseShift(**CONFIGS["three_classes"])
    assert_sample_contract(gen, 600, 0.5, ("core",) * 3 + ("noise",))


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(NoiseShift(**CONFIGS["rescaled_with_noise_features"]), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(n_classes=1), "n_classes"),
    (dict(n_classes=4, n_core=2), "n_core"),
    (dict(n_noise=-1), "n_noise"),
    (dict(separation=0.0), "separation"),
    (dict(max_noise=-0.5), "max_noise"),
    (dict(rescale_fraction=1.5), "rescale_fraction"),
    (dict(rescale_factor=0.0), "rescale_factor"),
    (dict(rescale_seed=-1), "rescale_seed"),
    (dict(rescale_seed=0.5), "rescale_seed"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(NoiseShift, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3))
def test_rescale_fraction_is_accepted_exactly_inside_the_unit_interval(value):
    if 0.0 <= value <= 1.0:
        assert NoiseShift(rescale_fraction=value).rescale_fraction == value
    else:
        assert_rejected(NoiseShift, dict(rescale_fraction=value), "rescale_fraction")


def test_scenario_file_loads_with_clean_plus_five_severities():
    scenario = load_scenario(DATASETS_DIR / "noise_shift.toml")
    assert isinstance(scenario.generator(), NoiseShift)
    assert scenario.shift_levels == (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
