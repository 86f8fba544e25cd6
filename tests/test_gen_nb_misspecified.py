"""`nb_misspecified`: the declared covariance, the exact posterior and closed forms, and the
Ng & Jordan asymptotic regime (logistic regression beats Gaussian naive Bayes at large n).

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
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.generators.nb_misspecified import NBMisspecified
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import SE_TOLERANCE, assert_mean, assert_not_worse, assert_rate

CONFIGS = {
    "default": {},
    "unbalanced": dict(n_weak=5, weak_separation=0.6, n_copies=4, copy_noise=0.5,
                       positive_fraction=0.3),
    "copies_only": dict(n_weak=0, n_copies=3),
}


def test_copies_share_the_latent_and_weak_features_are_independent():
    gen = NBMisspecified(n_weak=2, n_copies=3, copy_noise=0.5)
    s = gen.sample(20_000, 0.0, rng(1))
    centred = s.X - gen.means[s.y]
    assert_mean(centred[:, 2] * centred[:, 3], 1.0, "covariance of two copies")
    assert_mean(centred[:, 2] ** 2, 1.25, "variance of a copy")
    assert_mean(centred[:, 0] * centred[:, 2], 0.0, "covariance of a weak feature and a copy")
    assert_mean(centred[:, 0] * centred[:, 1], 0.0, "covariance of two weak features")


@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_matches_bayes_rule_on_scipy_densities(name):
    gen = NBMisspecified(**CONFIGS[name])
    X = gen.sample(300, 0.0, rng(2)).X
    expected = reference_posterior(X, gen.means, gen.cov, gen.prior)
    np.testing.assert_allclose(gen.posterior(X, 0.0), expected, atol=1e-8)
    np.testing.assert_allclose(gen.invariant_posterior(X, 0.0), expected, atol=1e-8)


def test_bayes_accuracy_is_phi_of_half_the_documented_mahalanobis_distance():
    gen = NBMisspecified(n_weak=7, weak_separation=0.4, n_copies=5, latent_separation=1.2,
                         copy_noise=0.6)
    delta = np.sqrt(7 * 0.4**2 + 1.2**2 * 5 / (5 + 0.6**2))
    assert gen.bayes_accuracy(0.0) == pytest.approx(stats.norm.cdf(delta / 2), abs=1e-12)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_closed_forms_match_monte_carlo(name):
    """Bayes: the posterior's argmax; naive Bayes: its asymptotic rule, weights delta / variance."""
    gen = NBMisspecified(**CONFIGS[name])
    s = gen.sample(40_000, 0.0, rng(3))
    assert_rate(gen.posterior(s.X, 0.0).argmax(axis=1) == s.y, gen.bayes_accuracy(0.0), "bayes")
    variances = np.diag(gen.cov)
    score = ((s.X - gen.means.mean(axis=0)) * (gen.means[1] - gen.means[0]) / variances).sum(axis=1)
    nb_rule = score + np.log(gen.prior[1] / gen.prior[0]) > 0
    assert_rate(nb_rule == s.y, gen.naive_bayes_accuracy(), "naive Bayes asymptote")


def test_a_single_copy_makes_naive_bayes_well_specified():
    gen = NBMisspecified(n_copies=1)
    assert gen.naive_bayes_accuracy() == pytest.approx(gen.bayes_accuracy(0.0), abs=1e-12)


def test_logistic_regression_beats_gaussian_naive_bayes_with_plenty_of_data():
    """Ng & Jordan's asymptotic regime. With 5000 training rows logistic regression is close to
    the Bayes rule while naive Bayes sits near its (closed-form) asymptote, a gap of about 4.7
    points on the default family; the paired difference on one test set must exceed 4 SE."""
    gen = NBMisspecified()
    train, test = gen.sample(5_000, 0.0, rng(4)), gen.sample(20_000, 0.0, rng(5))
    lr = LogisticRegression().fit(train.X, train.y).predict(test.X) == test.y
    nb = GaussianNB().fit(train.X, train.y).predict(test.X) == test.y
    diff = lr.astype(float) - nb
    se = np.std(diff, ddof=1) / np.sqrt(len(diff))
    assert diff.mean() > SE_TOLERANCE * se, (lr.mean(), nb.mean(), se)
    assert gen.bayes_accuracy(0.0) - gen.naive_bayes_accuracy() > 0.03
    assert_rate(nb, gen.naive_bayes_accuracy(), "fitted naive Bayes near its asymptote")
    assert_not_worse(gen.posterior(test.X, 0.0).argmax(axis=1) == test.y, lr, "bayes vs logistic")


@settings(max_examples=30, deadline=None)
@given(shift=st.floats(0, 1))
def test_shift_changes_nothing(shift):
    gen = NBMisspecified(**CONFIGS["unbalanced"])
    a, b = gen.sample(50, 0.0, rng(6)), gen.sample(50, shift, rng(6))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert gen.bayes_accuracy(shift) == gen.bayes_accuracy(0.0)


def test_shifted_latent_leaves_the_training_draws_unchanged():
    plain, shifted = NBMisspecified(), NBMisspecified(shifted_latent_separation=-1.5)
    a, b = plain.sample(200, 0.0, rng(6)), shifted.sample(200, 0.0, rng(6))
    np.testing.assert_array_equal(a.X, b.X)
    assert shifted.bayes_accuracy(0.0) == plain.bayes_accuracy(0.0)


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0])
def test_shifted_latent_moves_the_copies_means_and_the_closed_form_follows(shift):
    """Copy means -+(1.5 + shift (0 - 1.5)) / 2 by class (4 SE); the Bayes accuracy, recomputed
    from the shifted means, matches the true posterior's Monte-Carlo accuracy (4 SE)."""
    gen = NBMisspecified(shifted_latent_separation=0.0)
    s = gen.sample(40_000, shift, rng(7))
    sign = 2.0 * s.y - 1.0
    assert_mean(s.X[:, gen.n_weak] * sign, 1.5 * (1.0 - shift) / 2.0, "first copy mean")
    assert_mean(s.X[:, 0] * sign, 0.3 / 2.0, "a weak feature keeps its mean")
    assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, gen.bayes_accuracy(shift),
                f"bayes at {shift}")
    np.testing.assert_allclose(gen.posterior(s.X[:300], shift),
                               reference_posterior(s.X[:300], gen.means_at(shift), gen.cov, gen.prior),
                               atol=1e-8)


def test_copy_noise_too_small_to_separate_the_copies_is_rejected():
    assert_rejected(NBMisspecified, dict(copy_noise=1e-300), "copy_noise")


def test_shift_outside_the_unit_interval_is_still_rejected():
    assert_rejected(NBMisspecified().sample, dict(n=10, shift=-0.1, rng=rng()), "shift")


# ---- the Sample contract, seeding, validation -------------------------------------------------

def test_sample_has_declared_shapes_dtypes_and_roles():
    assert_sample_contract(NBMisspecified(n_weak=3, n_copies=2), 400, 0.0, ("core",) * 5)


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(NBMisspecified(), 0.0)


@pytest.mark.parametrize("params, field", [
    (dict(n_weak=-1), "n_weak"),
    (dict(weak_separation=-0.1), "weak_separation"),
    (dict(n_copies=0), "n_copies"),
    (dict(n_copies=2.0), "n_copies"),
    (dict(latent_separation=0.0), "latent_separation"),
    (dict(copy_noise=0.0), "copy_noise"),
    (dict(positive_fraction=1.0), "positive_fraction"),
    (dict(shifted_latent_separation="none"), "shifted_latent_separation"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(NBMisspecified, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-3, max_value=3))
def test_copy_noise_is_accepted_exactly_when_positive(value):
    assume(not 0 < value < 1e-6)  # rounding makes the covariance singular (its own error)
    if value > 0:
        assert NBMisspecified(copy_noise=value).copy_noise == value
    else:
        assert_rejected(NBMisspecified, dict(copy_noise=value), "copy_noise")


def test_scenario_file_loads_as_a_learning_curve():
    scenario = load_scenario(DATASETS_DIR / "nb_misspecified.toml")
    assert isinstance(scenario.generator(), NBMisspecified)
    assert scenario.shift_levels == (0.0,)
    assert min(scenario.n_train) <= 10 and max(scenario.n_train) >= 2000


@pytest.mark.parametrize("name", ["nb_misspecified_latent_fades", "nb_misspecified_latent_reverses",
                                  "nb_misspecified_one_copy_fades"])
def test_shifted_scenario_files_load_and_really_shift(name):
    gen = load_scenario(DATASETS_DIR / f"{name}.toml").generator()
    assert not np.array_equal(gen.means_at(0.0), gen.means_at(1.0))
