"""`missing_features`: values go missing at the declared rate, the posterior marginalises them
exactly, the pattern-averaged closed form matches Monte Carlo, and marginalising beats imputing.

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
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.generators.missing_features import MissingFeatures
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import SE_TOLERANCE, assert_mean, assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)
CONFIGS = {
    "default": {},
    "smooth_with_noise_features": dict(n_core=4, n_noise=2, mean_pattern="smooth", separation=3.0,
                                       max_missing=0.8),
    "negatively_correlated": dict(n_core=5, feature_correlation=-0.5, separation=2.0),
    "three_classes": dict(n_classes=3, n_core=4, n_noise=1, separation=2.0),
}


# ---- missingness ------------------------------------------------------------------------------

@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 1.0])
def test_missing_fraction_matches_the_declared_probability(shift):
    gen = MissingFeatures(n_noise=2, max_missing=0.6)
    missing = np.isnan(gen.sample(5_000, shift, rng(1)).X)
    assert_rate(missing.ravel(), gen.missing_probability(shift), f"missing share at {shift}")
    if shift == 0.0:
        assert not missing.any()


def test_holes_are_punched_in_the_same_complete_sample_at_every_level():
    gen = MissingFeatures()
    complete, holed = (gen.sample(500, s, rng(2)) for s in (0.0, 1.0))
    observed = ~np.isnan(holed.X)
    np.testing.assert_array_equal(holed.X[observed], complete.X[observed])
    np.testing.assert_array_equal(holed.y, complete.y)


@settings(max_examples=50, deadline=None)
@given(max_missing=st.floats(0, 1), a=st.floats(0, 1), b=st.floats(0, 1))
def test_missing_probability_is_linear_from_zero_to_the_maximum(max_missing, a, b):
    gen = MissingFeatures(max_missing=max_missing)
    assert gen.missing_probability(0.0) == 0.0
    assert gen.missing_probability(1.0) == pytest.approx(max_missing)
    lo, hi = sorted((a, b))
    assert gen.missing_probability(lo) <= gen.missing_probability(hi) + 1e-12


def test_neighbouring_features_have_the_declared_autoregressive_correlation():
    gen = MissingFeatures(n_core=4, feature_correlation=0.6)
    s = gen.sample(20_000, 0.0, rng(3))
    centred = s.X - gen.means[s.y]
    for lag in (1, 2):
        assert_mean(centred[:, 0] * centred[:, lag], 0.6**lag, f"lag-{lag} covariance")


# ---- exact posterior, closed forms, oracle ----------------------------------------------------

def _reference_with_holes(gen: MissingFeatures, X: np.ndarray) -> np.ndarray:
    """Row by row: scipy's Gaussian on the observed features (the prior when none is observed)."""
    rows = []
    for x in X:
        cols = np.flatnonzero(~np.isnan(x))
        if len(cols) == 0:
            rows.append(gen.prior)
            continue
        rows.append(reference_posterior(x[cols][None, :], gen.means[:, cols],
                                        gen.cov[np.ix_(cols, cols)], gen.prior)[0])
    return np.array(rows)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_marginalises_missing_features_exactly(name):
    gen = MissingFeatures(**CONFIGS[name])
    X = gen.sample(60, 1.0, rng(4)).X  # dozens of distinct missingness patterns
    X[0] = np.nan  # one row with nothing observed
    p = gen.posterior(X, 1.0)
    np.testing.assert_allclose(p, _reference_with_holes(gen, X), atol=1e-8)
    np.testing.assert_array_equal(p, gen.invariant_posterior(X, 0.0))


@pytest.mark.parametrize("name", ["default", "smooth_with_noise_features", "negatively_correlated"])
@pytest.mark.parametrize("shift", LEVELS)
def test_pattern_averaged_accuracy_matches_monte_carlo_accuracy_of_the_posterior(name, shift):
    gen = MissingFeatures(**CONFIGS[name])
    s = gen.sample(40_000, shift, rng(5))
    correct = gen.posterior(s.X, shift).argmax(axis=1) == s.y
    assert_rate(correct, gen.bayes_accuracy(shift), f"{name} at {shift}")
    assert gen.invariant_accuracy(shift) == gen.bayes_accuracy(shift)


def test_accuracy_is_none_without_a_formula_or_with_too_many_patterns():
    assert MissingFeatures(**CONFIGS["three_classes"]).bayes_accuracy(0.5) is None
    assert MissingFeatures(n_core=13).bayes_accuracy(0.5) is None


@pytest.mark.parametrize("name", ["default", "smooth_with_noise_features", "three_classes"])
def test_bayes_oracle_is_at_least_as_accurate_as_fitted_models_on_imputed_data(name):
    gen = MissingFeatures(**CONFIGS[name])
    train = gen.sample(1000, 0.0, rng(6))
    imputer = SimpleImputer().fit(train.X)
    models = [LogisticRegression().fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(7))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(imputer.transform(test.X)) == test.y,
                             f"{name} {type(model).__name__} at {shift}")


def test_marginalising_beats_mean_imputation_in_the_default_scenario():
    """The family's point: the true posterior applied to mean-imputed rows (the best an
    imputing model could hope for) is clearly worse than marginalising, at shift 1."""
    gen = load_scenario(DATASETS_DIR / "missing_features.toml").generator()
    test = gen.sample(20_000, 1.0, rng(8))
    imputed = SimpleImputer().fit(gen.sample(20_000, 0.0, rng(9)).X).transform(test.X)
    diff = ((gen.posterior(test.X, 1.0).argmax(axis=1) == test.y).astype(float)
            - (gen.posterior(imputed, 1.0).argmax(axis=1) == test.y))
    se = np.std(diff, ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > SE_TOLERANCE * se, (diff.mean(), se)


# ---- the Sample contract, seeding, validation -------------------------------------------------

def test_sample_has_declared_shapes_dtypes_and_roles():
    gen = MissingFeatures(**CONFIGS["three_classes"])
    assert_sample_contract(gen, 600, 0.5, ("core",) * 4 + ("noise",))


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(MissingFeatures(), 0.7)


@pytest.mark.parametrize("params, field", [
    (dict(n_classes=1), "n_classes"),
    (dict(n_classes=4, n_core=2), "n_core"),
    (dict(n_noise=-1), "n_noise"),
    (dict(separation=-1.0), "separation"),
    (dict(feature_correlation=1.0), "feature_correlation"),
    (dict(feature_correlation="high"), "feature_correlation"),
    (dict(mean_pattern="random"), "mean_pattern"),
    (dict(max_missing=1.01), "max_missing"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(MissingFeatures, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3))
def test_feature_correlation_is_accepted_exactly_strictly_between_minus_one_and_one(value):
    assume(abs(abs(value) - 1.0) > 1e-6)  # within rounding of 1 the covariance is singular
    if -1.0 < value < 1.0:
        assert MissingFeatures(feature_correlation=value).feature_correlation == value
    else:
        assert_rejected(MissingFeatures, dict(feature_correlation=value), "feature_correlation")


def test_scenario_file_loads():
    scenario = load_scenario(DATASETS_DIR / "missing_features.toml")
    assert isinstance(scenario.generator(), MissingFeatures)
    assert scenario.shift_levels == (0.0, 0.25, 0.5, 0.75, 1.0)
