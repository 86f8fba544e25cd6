"""`binary_spurious`: agreement under shift, word rates, exact enumeration, coupled counterfactual.

Statistical checks allow 4 standard errors (see `stat_checks`); exact checks use 1e-10.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from generator_checks import assert_rejected, assert_seeded, rng
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import BernoulliNB, GaussianNB
from spurbench.errors import ParameterError
from spurbench.generators.binary_spurious import BinarySpurious
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)
SMALL = dict(n_core=3, n_spurious=2, n_noise=1, core_rate_y0=0.2, core_rate_y1=0.6,
             spurious_rate_a0=0.1, spurious_rate_a1=0.8, positive_fraction=0.4)
RATE_PARAMS = ("core_rate_y0", "core_rate_y1", "spurious_rate_a0", "spurious_rate_a1", "noise_rate",
               "train_correlation")


# ---- the shift mapping and the word rates -----------------------------------------------------

@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_agreement_matches_rho_at_each_level(shift):
    gen = BinarySpurious(train_correlation=0.9)
    s = gen.sample(20_000, shift, rng(1))
    assert_rate(s.attr == s.y, gen.agreement(shift), f"P(a = y) at shift {shift}")


@settings(max_examples=50, deadline=None)
@given(rho=st.floats(0.0, 1.0), shift=st.floats(0.0, 1.0))
def test_agreement_is_linear_from_rho_to_its_reverse(rho, shift):
    gen = BinarySpurious(train_correlation=rho)
    assert gen.agreement(0.0) == rho
    assert gen.agreement(1.0) == pytest.approx(1.0 - rho, abs=1e-12)
    assert gen.agreement(shift) == pytest.approx(rho + shift * (1.0 - 2.0 * rho), abs=1e-12)


def test_words_are_present_at_their_declared_rates():
    gen = BinarySpurious(**SMALL)
    s = gen.sample(20_000, 0.3, rng(2))
    assert set(np.unique(s.X)) == {0.0, 1.0}
    for y in (0, 1):
        assert_rate(s.X[s.y == y, :3].ravel() == 1, gen.core_rates[y], f"core words given y={y}")
    for a in (0, 1):
        assert_rate(s.X[s.attr == a, 3:5].ravel() == 1, gen.spurious_rates[a], f"spurious words given a={a}")
    assert_rate(s.X[:, 5] == 1, gen.noise_rate, "noise word")
    assert_rate(s.y == 1, 0.4, "P(y = 1)")


# ---- exact posterior and accuracies -----------------------------------------------------------

def _brute_force_joint(gen: BinarySpurious, x: np.ndarray, shift: float, core_only: bool) -> np.ndarray:
    """P(y, x) (core words only if `core_only`) by summing over a explicitly, word by word."""
    rho = gen.agreement(shift)
    core, spurious = x[: gen.n_core], x[gen.n_core : gen.n_core + gen.n_spurious]
    joint = np.zeros(2)
    for y in (0, 1):
        p_core = np.prod(np.where(core == 1, gen.core_rates[y], 1 - gen.core_rates[y]))
        p_spurious = 1.0
        if not core_only:
            p_spurious = sum((rho if a == y else 1 - rho)
                             * np.prod(np.where(spurious == 1, gen.spurious_rates[a],
                                                1 - gen.spurious_rates[a])) for a in (0, 1))
        joint[y] = gen.prior[y] * p_core * p_spurious
    return joint


@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_exact_accuracies_equal_the_sum_over_every_word_configuration(shift):
    gen = BinarySpurious(**{**SMALL, "n_noise": 0})
    words = [np.array(bits, dtype=float) for bits in itertools.product((0, 1), repeat=5)]
    for core_only, exact in ((False, gen.bayes_accuracy(shift)), (True, gen.invariant_accuracy(shift))):
        brute = sum(_brute_force_joint(gen, x, shift, core_only).max() for x in words)
        # the core-only sum visits each core configuration once per spurious configuration
        assert exact == pytest.approx(brute / (4 if core_only else 1), abs=1e-10)


def test_posterior_matches_the_brute_force_joint():
    gen = BinarySpurious(**SMALL)
    X = gen.sample(200, 0.0, rng(3)).X
    for shift in (0.0, 0.7):
        expected = np.array([_brute_force_joint(gen, x, shift, False) for x in X])
        np.testing.assert_allclose(gen.posterior(X, shift), expected / expected.sum(axis=1, keepdims=True),
                                   atol=1e-10)
        expected = np.array([_brute_force_joint(gen, x, shift, True) for x in X])
        np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                                   expected / expected.sum(axis=1, keepdims=True), atol=1e-10)


@pytest.mark.parametrize("shift", LEVELS)
def test_exact_accuracies_match_monte_carlo_accuracy_of_the_true_posterior(shift):
    gen = BinarySpurious()
    s = gen.sample(40_000, shift, rng(4))
    assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, gen.bayes_accuracy(shift), "bayes")
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y, gen.invariant_accuracy(shift),
                "invariant")


def test_deterministic_rates_give_finite_posteriors():
    gen = BinarySpurious(core_rate_y0=0.0, core_rate_y1=1.0, spurious_rate_a0=0.0, spurious_rate_a1=1.0)
    s = gen.sample(500, 0.5, rng(5))
    p = gen.posterior(s.X, 0.5)
    assert np.isfinite(p).all()
    assert gen.bayes_accuracy(0.5) == pytest.approx(1.0)
    np.testing.assert_array_equal(p.argmax(axis=1), s.y)


def test_bayes_oracle_is_at_least_as_accurate_as_fitted_logistic_regression_and_naive_bayes():
    gen = BinarySpurious()
    train = gen.sample(2000, 0.0, rng(6))
    models = [LogisticRegression(max_iter=1000), BernoulliNB(), GaussianNB()]
    for model in models:
        model.fit(train.X, train.y)
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(7))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y, f"{type(model).__name__} at {shift}")


# ---- the Sample contract ----------------------------------------------------------------------

def test_sample_has_declared_shapes_roles_and_groups():
    gen = BinarySpurious(**SMALL)
    s = gen.sample(300, 0.5, rng(8))
    assert s.X.shape == (300, 6) and s.X.dtype == np.float64 and s.y.dtype == np.int64
    assert s.roles == ("core",) * 3 + ("spurious",) * 2 + ("noise",)
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)


def test_counterfactual_redraws_only_the_spurious_words_with_the_same_uniforms():
    """With the uniforms shared, a word present under the rarer rate stays present under the
    commoner one: flipping a from 1 to 0 can only remove spurious words, from 0 to 1 only add."""
    gen = BinarySpurious(**SMALL)
    s = gen.sample(5000, 0.5, rng(9))
    spurious = np.array(s.roles) == "spurious"
    np.testing.assert_array_equal(s.X_counterfactual[:, ~spurious], s.X[:, ~spurious])
    before, after = s.X[:, spurious], s.X_counterfactual[:, spurious]
    assert (after[s.attr == 1] <= before[s.attr == 1]).all()
    assert (after[s.attr == 0] >= before[s.attr == 0]).all()
    assert_rate(after[s.attr == 1].ravel() == 1, gen.spurious_rates[0], "words after flipping a=1 to 0")
    assert_rate(after[s.attr == 0].ravel() == 1, gen.spurious_rates[1], "words after flipping a=0 to 1")


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(BinarySpurious(), 0.5)


# ---- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    (dict(train_correlation=1.5), "train_correlation"),
    (dict(n_core=0), "n_core"),
    (dict(n_spurious=0), "n_spurious"),
    (dict(n_noise=-2), "n_noise"),
    (dict(core_rate_y0=-0.1), "core_rate_y0"),
    (dict(core_rate_y1=2.0), "core_rate_y1"),
    (dict(spurious_rate_a0=1.01), "spurious_rate_a0"),
    (dict(spurious_rate_a1="often"), "spurious_rate_a1"),
    (dict(noise_rate=float("nan")), "noise_rate"),
    (dict(positive_fraction=1.0), "positive_fraction"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(BinarySpurious, params, field)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(RATE_PARAMS),
       value=st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3))
def test_every_probability_is_accepted_exactly_inside_the_unit_interval(name, value):
    if 0.0 <= value <= 1.0:
        BinarySpurious(**{name: value})
    else:
        with pytest.raises(ParameterError, match=name):
            BinarySpurious(**{name: value})


def test_scenario_file_loads():
    scenario = load_scenario(DATASETS_DIR / "binary_spurious.toml")
    assert isinstance(scenario.generator(), BinarySpurious)
