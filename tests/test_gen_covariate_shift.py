"""`covariate_shift`: the input distribution moves as declared, labels follow the fixed posterior,
the Bayes rule dominates fitted models, and the default scenario defeats linear extrapolation.

Statistical checks allow 4 standard errors (see `stat_checks`).
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import assert_rejected, assert_sample_contract, assert_seeded, rng
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.generators.covariate_shift import CovariateShift
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import SE_TOLERANCE, assert_mean, assert_not_worse

LEVELS = (0.0, 0.5, 1.0)
CONFIGS = {
    "default": {},
    "quadratic": dict(boundary="quadratic", curvature=0.5, max_translation=2.0, max_scale=1.5),
    "three_classes_wide": dict(n_classes=3, n_core=4, n_noise=2, frequency=0.7, sharpness=3.0),
}


# ---- the shift mapping ------------------------------------------------------------------------

@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 1.0])
def test_inputs_are_translated_along_the_first_feature_and_rescaled_as_declared(shift):
    gen = CovariateShift(n_core=3, n_noise=1, max_translation=-2.5, max_scale=2.0)
    X = gen.sample(20_000, shift, rng(1)).X
    centre = np.zeros(X.shape[1])
    centre[0] = gen.translation(shift)
    for j in range(X.shape[1]):
        assert_mean(X[:, j], centre[j], f"mean of feature {j} at {shift}")
        assert_mean((X[:, j] - centre[j]) ** 2, gen.scale(shift) ** 2, f"variance of {j} at {shift}")


@settings(max_examples=50, deadline=None)
@given(translation=st.floats(-10, 10), scale=st.floats(0.1, 5), a=st.floats(0, 1), b=st.floats(0, 1))
def test_translation_and_scale_are_linear_from_the_training_values_to_the_maximum(
        translation, scale, a, b):
    gen = CovariateShift(max_translation=translation, max_scale=scale)
    assert gen.translation(0.0) == 0.0 and gen.scale(0.0) == 1.0
    assert gen.translation(1.0) == pytest.approx(translation)
    assert gen.scale(1.0) == pytest.approx(scale)
    lo, hi = sorted((a, b))
    assert abs(gen.translation(lo)) <= abs(gen.translation(hi)) + 1e-12
    assert abs(gen.scale(lo) - 1.0) <= abs(gen.scale(hi) - 1.0) + 1e-12


@pytest.mark.parametrize("boundary", ["sine", "quadratic"])
def test_score_has_the_training_standard_deviation_the_cut_points_assume(boundary):
    """E f = 0 under N(0, I) for both boundaries, so E f^2 is the variance the cut points use."""
    gen = CovariateShift(n_classes=4, boundary=boundary, curvature=0.8, frequency=1.3)
    f = gen.score(gen.sample(40_000, 0.0, rng(2)).X)
    assert_mean(f**2, gen._training_score_sd() ** 2, f"{boundary} score variance")


# ---- the fixed labelling rule -----------------------------------------------------------------

@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("shift", LEVELS)
def test_labels_follow_the_declared_posterior_at_every_shift(name, shift):
    """Residuals 1[y = k] - P(k | x) average to 0, also weighted by the score (catches a wrong
    sharpness or cut point, not only a wrong class balance)."""
    gen = CovariateShift(**CONFIGS[name])
    s = gen.sample(20_000, shift, rng(3))
    p, f = gen.posterior(s.X, shift), gen.score(s.X)
    for k in range(gen.n_classes):
        residual = (s.y == k) - p[:, k]
        assert_mean(residual, 0.0, f"{name} class {k} at {shift}")
        assert_mean(residual * f, 0.0, f"{name} class {k} score-weighted at {shift}")


def test_posterior_is_the_same_function_at_every_shift_and_sums_to_one():
    gen = CovariateShift(**CONFIGS["three_classes_wide"])
    X = gen.sample(500, 1.0, rng(4)).X
    p = gen.posterior(X, 0.0)
    np.testing.assert_array_equal(p, gen.posterior(X, 1.0))
    np.testing.assert_array_equal(p, gen.invariant_posterior(X, 0.7))
    assert (p >= 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_two_class_posterior_is_the_sigmoid_of_the_sharpened_score():
    gen = CovariateShift(sharpness=2.5)
    X = gen.sample(200, 0.3, rng(5)).X
    np.testing.assert_allclose(gen.posterior(X, 0.3)[:, 1], 1 / (1 + np.exp(-2.5 * gen.score(X))),
                               atol=1e-12)


def test_oracle_accuracies_are_left_to_monte_carlo():
    gen = CovariateShift()
    assert gen.bayes_accuracy(0.5) is None and gen.invariant_accuracy(0.5) is None


@pytest.mark.parametrize("name", list(CONFIGS))
def test_bayes_oracle_is_at_least_as_accurate_as_fitted_models(name):
    gen = CovariateShift(**CONFIGS[name])
    train = gen.sample(1000, 0.0, rng(6))
    models = [LogisticRegression().fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(7))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y,
                             f"{name} {type(model).__name__} at {shift}")


def test_default_scenario_defeats_linear_extrapolation_but_not_the_bayes_rule():
    """The family's point: a linear fit that is near-optimal on the training support loses much
    more accuracy at shift 1 than the (shift-independent) Bayes rule does."""
    scenario = load_scenario(DATASETS_DIR / "covariate_shift.toml")
    gen = scenario.generator()
    train = gen.sample(1000, 0.0, rng(8))
    model = LogisticRegression().fit(train.X, train.y)
    drops = {}
    for name, predict in (("bayes", lambda X, s: gen.posterior(X, s).argmax(axis=1)),
                          ("logistic", lambda X, s: model.predict(X))):
        correct = [predict(t.X, s) == t.y for s, t in
                   ((s, gen.sample(10_000, s, rng(9))) for s in (0.0, 1.0))]
        drops[name] = correct[0].mean() - correct[1].mean()
    # the compared quantity sums four accuracies; each has sd <= 0.5 / sqrt(n), whatever their
    # correlations the sum's sd is at most the sum of the four
    sd_bound = 4 * 0.5 / np.sqrt(10_000)
    assert drops["logistic"] - drops["bayes"] > SE_TOLERANCE * sd_bound, drops


# ---- the Sample contract, seeding, validation -------------------------------------------------

def test_sample_has_declared_shapes_dtypes_and_roles():
    gen = CovariateShift(**CONFIGS["three_classes_wide"])
    assert_sample_contract(gen, 600, 0.5, ("core",) * 4 + ("noise",) * 2)


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(CovariateShift(**CONFIGS["quadratic"]), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(n_classes=1), "n_classes"),
    (dict(n_core=1), "n_core"),
    (dict(n_noise=-1), "n_noise"),
    (dict(boundary="cubic"), "boundary"),
    (dict(curvature=-0.1), "curvature"),
    (dict(frequency=0.0), "frequency"),
    (dict(sharpness=0.0), "sharpness"),
    (dict(max_translation=float("inf")), "max_translation"),
    (dict(max_scale=0.0), "max_scale"),
    (dict(max_scale="2"), "max_scale"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(CovariateShift, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5))
def test_scale_and_sharpness_are_accepted_exactly_when_positive(value):
    for field in ("max_scale", "sharpness"):
        if value > 0:
            CovariateShift(**{field: value})
        else:
            assert_rejected(CovariateShift, {field: value}, field)


def test_sampling_outside_the_shift_range_is_rejected():
    assert_rejected(CovariateShift().sample, dict(n=10, shift=1.5, rng=rng()), "shift")


def test_scenario_file_loads():
    scenario = load_scenario(DATASETS_DIR / "covariate_shift.toml")
    assert isinstance(scenario.generator(), CovariateShift)
    assert scenario.shift_levels == (0.0, 0.25, 0.5, 0.75, 1.0)
