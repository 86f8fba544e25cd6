"""`label_shift`: the realised prior, fixed class-conditionals, exact posterior, closed form.

Statistical checks allow 4 standard errors (see `stat_checks`).
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
from spurbench.errors import ParameterError
from spurbench.generators.label_shift import LabelShift
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)
BINARY = dict(train_prior=0.5, target_prior=0.1, n_core=2, separation=2.0, n_noise=2)
THREE = dict(train_prior=[0.2, 0.3, 0.5], target_prior=[0.7, 0.3, 0.0], n_core=3, separation=2.5,
             n_noise=1)


# ---- the shift mapping ------------------------------------------------------------------------

@pytest.mark.parametrize("params", [BINARY, THREE], ids=["binary", "three_classes"])
@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_class_prior_matches_the_requested_prior(params, shift):
    gen = LabelShift(**params)
    s = gen.sample(20_000, shift, rng(1))
    for k, p in enumerate(gen.prior(shift)):
        assert_rate(s.y == k, p, f"P(y = {k}) at shift {shift}")


@settings(max_examples=50, deadline=None)
@given(train=st.floats(0.01, 0.99), target=st.floats(0.0, 1.0), shift=st.floats(0.0, 1.0))
def test_prior_moves_linearly_from_train_to_target(train, target, shift):
    gen = LabelShift(train_prior=train, target_prior=target)
    start, end = np.array([1 - train, train]), np.array([1 - target, target])
    np.testing.assert_allclose(gen.prior(0.0), start, atol=1e-12)
    np.testing.assert_allclose(gen.prior(1.0), end, atol=1e-12)
    np.testing.assert_allclose(gen.prior(shift), (1 - shift) * start + shift * end, atol=1e-12)


# ---- fixed class-conditionals and the exact posterior -----------------------------------------

def test_class_conditional_means_do_not_move_with_the_shift():
    gen = LabelShift(**THREE)
    for shift in (0.0, 1.0):
        s = gen.sample(30_000, shift, rng(2))
        for k in np.flatnonzero(gen.prior(shift) > 0):
            rows = s.X[s.y == k]
            for j in range(gen.n_core):
                assert_mean(rows[:, j], gen.class_means()[k, j], f"class {k} feature {j} at {shift}")
            assert_mean(rows[:, -1], 0.0, f"class {k} noise feature at {shift}")


def test_class_means_are_separation_apart():
    means = LabelShift(**THREE).class_means()
    distances = [np.linalg.norm(means[i] - means[j]) for i in range(3) for j in range(i)]
    np.testing.assert_allclose(distances, 2.5, rtol=1e-12)


def test_posterior_is_bayes_rule_with_the_shifted_prior():
    gen = LabelShift(**THREE)
    X = gen.sample(300, 0.0, rng(3)).X
    for shift in (0.0, 0.6, 1.0):
        with np.errstate(divide="ignore"):  # the target prior drops class 2
            expected = reference_posterior(X[:, :3], gen.class_means(), np.eye(3), gen.prior(shift))
        np.testing.assert_allclose(gen.posterior(X, shift), expected, atol=1e-8)
        np.testing.assert_array_equal(gen.invariant_posterior(X, shift), gen.posterior(X, shift))


def test_a_class_the_target_drops_is_never_predicted_at_shift_one():
    gen = LabelShift(**THREE)
    X = gen.sample(2000, 0.0, rng(4)).X
    assert (gen.posterior(X, 1.0).argmax(axis=1) != 2).all()


# ---- closed form and the oracle ---------------------------------------------------------------

@pytest.mark.parametrize("shift", LEVELS)
def test_closed_form_bayes_accuracy_matches_monte_carlo_accuracy_of_the_true_posterior(shift):
    gen = LabelShift(**BINARY)
    s = gen.sample(40_000, shift, rng(5))
    assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, gen.bayes_accuracy(shift), "bayes")
    assert gen.invariant_accuracy(shift) == gen.bayes_accuracy(shift)


def test_closed_form_is_phi_of_half_the_separation_for_balanced_classes():
    gen = LabelShift(train_prior=0.5, target_prior=0.5, separation=3.0)
    assert gen.bayes_accuracy(0.3) == pytest.approx(stats.norm.cdf(1.5), abs=1e-12)


def test_more_than_two_classes_have_no_closed_form():
    assert LabelShift(**THREE).bayes_accuracy(0.5) is None


@pytest.mark.parametrize("params", [BINARY, THREE], ids=["binary", "three_classes"])
def test_bayes_oracle_is_at_least_as_accurate_as_fitted_logistic_regression_and_naive_bayes(params):
    gen = LabelShift(**params)
    train = gen.sample(2000, 0.0, rng(6))
    models = [LogisticRegression(max_iter=1000).fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(7))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y, f"{type(model).__name__} at {shift}")


# ---- the Sample contract ----------------------------------------------------------------------

def test_sample_has_core_and_noise_roles_and_no_attribute():
    assert_sample_contract(LabelShift(**THREE), 300, 0.5, ("core", "core", "core", "noise"))
    assert LabelShift.prior_adaptation is True


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(LabelShift(**BINARY), 0.5)


# ---- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    (dict(train_prior=0.0), "train_prior"),
    (dict(train_prior=[0.5, 0.5, 0.0]), "train_prior"),
    (dict(train_prior=[0.5, 0.6]), "train_prior"),
    (dict(train_prior=[1.0]), "train_prior"),
    (dict(train_prior="half"), "train_prior"),
    (dict(target_prior=1.5), "target_prior"),
    (dict(target_prior=[0.2, 0.3, 0.5]), "target_prior"),
    (dict(train_prior=[0.2, 0.3, 0.5], target_prior=[0.2, 0.8], n_core=2), "target_prior"),
    (dict(train_prior=[0.25] * 4, target_prior=[0.25] * 4, n_core=2), "n_core"),
    (dict(separation=0.0), "separation"),
    (dict(n_noise=-1), "n_noise"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(LabelShift, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3))
def test_target_prior_scalar_is_accepted_exactly_inside_the_unit_interval(value):
    if 0.0 <= value <= 1.0:
        assert LabelShift(target_prior=value).target_prior[1] == pytest.approx(value)
    else:
        with pytest.raises(ParameterError, match="target_prior"):
            LabelShift(target_prior=value)


@settings(max_examples=60, deadline=None)
@given(probabilities=st.lists(st.floats(-0.5, 1.5), min_size=2, max_size=5))
def test_prior_lists_are_accepted_exactly_when_they_are_distributions(probabilities):
    k = len(probabilities)
    valid = all(0.0 <= p <= 1.0 for p in probabilities) and abs(sum(probabilities) - 1.0) <= 1e-6
    if valid:
        LabelShift(train_prior=[1.0 / k] * k, target_prior=probabilities, n_core=k)
    else:
        with pytest.raises(ParameterError, match="target_prior"):
            LabelShift(train_prior=[1.0 / k] * k, target_prior=probabilities, n_core=k)


@settings(max_examples=40, deadline=None)
@given(weights=st.lists(st.floats(0.0, 10.0), min_size=2, max_size=5).filter(lambda w: sum(w) > 0.1))
def test_every_normalised_prior_list_is_accepted_as_a_target(weights):
    k = len(weights)
    target = [w / sum(weights) for w in weights]
    gen = LabelShift(train_prior=[1.0 / k] * k, target_prior=target, n_core=k)
    np.testing.assert_allclose(gen.prior(1.0), target, atol=1e-9)


def test_scenario_file_loads():
    scenario = load_scenario(DATASETS_DIR / "label_shift.toml")
    gen = scenario.generator()
    assert isinstance(gen, LabelShift) and gen.prior_adaptation
