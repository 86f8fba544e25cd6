"""`group_shift`: group shares under shift, feature scales, oracles, the Sample contract.

Statistical checks allow 4 standard errors (see `stat_checks`).
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import assert_rejected, assert_seeded, rng
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.errors import ParameterError
from spurbench.generators.group_shift import GroupShift
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)


@pytest.mark.parametrize("positive_fraction", [0.5, 0.3])
@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_group_shares_match_the_requested_shares(positive_fraction, shift):
    gen = GroupShift(majority_share=0.95, positive_fraction=positive_fraction)
    s = gen.sample(20_000, shift, rng(1))
    for group, share in enumerate(gen.group_shares(shift)):
        assert_rate(s.group == group, share, f"share of group {group} at shift {shift}")


@settings(max_examples=50, deadline=None)
@given(majority=st.floats(0.0, 1.0), pi1=st.floats(0.01, 0.99), shift=st.floats(0.0, 1.0))
def test_group_shares_are_linear_in_shift_and_swap_minority_and_majority_at_one(majority, pi1, shift):
    gen = GroupShift(majority_share=majority, positive_fraction=pi1)
    start, end, here = gen.group_shares(0.0), gen.group_shares(1.0), gen.group_shares(shift)
    np.testing.assert_allclose(start, [(1 - pi1) * majority, (1 - pi1) * (1 - majority),
                                       pi1 * (1 - majority), pi1 * majority], atol=1e-12)
    np.testing.assert_allclose(end, start[[1, 0, 3, 2]], atol=1e-12)
    np.testing.assert_allclose(here, (1 - shift) * start + shift * end, atol=1e-12)
    assert here.sum() == pytest.approx(1.0)


def test_features_have_the_sagawa_means_and_scales():
    gen = GroupShift(n_core=2, n_spurious=3, n_noise=8, core_noise=1.5, spurious_noise=0.5,
                     noise_scale=2.0)
    s = gen.sample(20_000, 0.3, rng(2))
    sign_y, sign_a = 2.0 * s.y - 1.0, 2.0 * s.attr - 1.0
    roles = np.array(s.roles)
    for j in np.flatnonzero(roles == "core"):
        assert_mean(s.X[:, j] * sign_y, 1.0, f"core feature {j} mean")
        assert_mean((s.X[:, j] - sign_y) ** 2, 1.5**2, f"core feature {j} variance")
    for j in np.flatnonzero(roles == "spurious"):
        assert_mean(s.X[:, j] * sign_a, 1.0, f"spurious feature {j} mean")
        assert_mean((s.X[:, j] - sign_a) ** 2, 0.5**2, f"spurious feature {j} variance")
    noise = s.X[:, roles == "noise"]
    assert_mean(noise.ravel(), 0.0, "noise mean")
    assert_mean((noise**2).sum(axis=1), 2.0**2, "total noise energy")


def test_posterior_is_bayes_rule_on_the_four_gaussian_groups():
    gen = GroupShift(n_core=2, n_spurious=2, n_noise=3, positive_fraction=0.4)
    X = gen.sample(300, 0.0, rng(3)).X
    core, spurious = X[:, :2], X[:, 2:4]
    for shift in (0.0, 0.4, 1.0):
        shares = gen.group_shares(shift).reshape(2, 2)  # [y, a]
        dens = np.zeros((len(X), 2))
        for y in (0, 1):
            core_density = stats.norm(2 * y - 1, gen.core_noise).pdf(core).prod(axis=1)
            for a in (0, 1):
                spurious_density = stats.norm(2 * a - 1, gen.spurious_noise).pdf(spurious).prod(axis=1)
                dens[:, y] += shares[y, a] * core_density * spurious_density
        np.testing.assert_allclose(gen.posterior(X, shift), dens / dens.sum(axis=1, keepdims=True),
                                   atol=1e-8)


@pytest.mark.parametrize("shift", LEVELS)
def test_closed_form_accuracies_match_monte_carlo_accuracy_of_the_true_posterior(shift):
    gen = GroupShift(positive_fraction=0.4, n_noise=5)
    s = gen.sample(40_000, shift, rng(4))
    assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, gen.bayes_accuracy(shift), "bayes")
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y,
                gen.invariant_accuracy(shift), "invariant")


def test_core_only_accuracy_is_phi_of_the_core_signal_to_noise_ratio():
    gen = GroupShift(n_core=4, core_noise=2.0)
    assert gen.invariant_accuracy(0.5) == pytest.approx(stats.norm.cdf(np.sqrt(4) / 2.0), abs=1e-9)


def test_bayes_oracle_is_at_least_as_accurate_as_fitted_logistic_regression_and_naive_bayes():
    gen = GroupShift(n_noise=10)
    train = gen.sample(2000, 0.0, rng(5))
    models = [LogisticRegression(max_iter=1000).fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(6))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y, f"{type(model).__name__} at {shift}")


def test_sample_has_declared_shapes_roles_groups_and_counterfactual():
    gen = GroupShift(n_core=2, n_spurious=3, n_noise=4)
    s = gen.sample(400, 0.5, rng(7))
    assert s.X.shape == (400, 9) and s.X.dtype == np.float64 and s.y.dtype == np.int64
    assert s.roles == ("core",) * 2 + ("spurious",) * 3 + ("noise",) * 4
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)
    spurious = np.array(s.roles) == "spurious"
    np.testing.assert_array_equal(s.X_counterfactual[:, ~spurious], s.X[:, ~spurious])
    # flipping a moves every spurious feature by -/+ 2 (from the mean of a to the mean of 1 - a)
    np.testing.assert_allclose(s.X_counterfactual[:, spurious] - s.X[:, spurious],
                               np.repeat((2.0 - 4.0 * s.attr)[:, None], 3, axis=1), atol=1e-12)


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(GroupShift(n_noise=3), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(majority_share=-0.1), "majority_share"),
    (dict(n_core=0), "n_core"),
    (dict(n_spurious=0), "n_spurious"),
    (dict(n_noise=-1), "n_noise"),
    (dict(core_noise=0.0), "core_noise"),
    (dict(spurious_noise=-1.0), "spurious_noise"),
    (dict(noise_scale=0.0), "noise_scale"),
    (dict(positive_fraction=0.0), "positive_fraction"),
    (dict(majority_share="high"), "majority_share"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(GroupShift, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5))
def test_majority_share_is_accepted_exactly_inside_the_unit_interval(value):
    if 0.0 <= value <= 1.0:
        assert GroupShift(majority_share=value).majority_share == value
    else:
        with pytest.raises(ParameterError, match="majority_share"):
            GroupShift(majority_share=value)


def test_scenario_file_loads():
    scenario = load_scenario(DATASETS_DIR / "group_shift.toml")
    assert isinstance(scenario.generator(), GroupShift)
