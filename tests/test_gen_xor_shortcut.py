"""`xor_shortcut`: realised agreement, the XOR posterior against scipy's densities, the core-only
closed form, calibration, the Sample contract and validation.

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
from sklearn.linear_model import LogisticRegression
from spurbench.generators.xor_shortcut import XorShortcut
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_agreement_is_within_3_se_of_rho(shift):
    gen = XorShortcut(train_correlation=0.9)
    s = gen.sample(20_000, shift, rng(1))
    assert_rate(s.attr == s.y, gen.agreement(shift), f"P(a = y) at {shift}", tolerance=3.0)
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)


def test_core_features_follow_the_four_xor_centres():
    gen = XorShortcut(core_offset=2.0)
    s = gen.sample(20_000, 0.0, rng(2))
    product_sign = np.sign(s.X[:, 0] * s.X[:, 1])
    # class 0 sits in quadrants 1 and 3, class 1 in 2 and 4: Phi(2)^2 + Phi(-2)^2 on its own side
    assert_rate(product_sign[s.y == 0] > 0, gen.invariant_accuracy(0.0), "class 0 in quadrants 1, 3")
    assert_rate(product_sign[s.y == 1] < 0, gen.invariant_accuracy(0.0), "class 1 in quadrants 2, 4")


def _reference_posterior(gen: XorShortcut, X: np.ndarray, shift: float, core_only: bool):
    """Bayes' rule on scipy's mixture densities, following the module docstring."""
    c, rho = gen.core_offset, gen.agreement(shift)
    centres = {0: [(c, c), (-c, -c)], 1: [(c, -c), (-c, c)]}
    columns = []
    for y in (0, 1):
        core = sum(0.5 * stats.multivariate_normal(m, np.eye(2)).pdf(X[:, :2]) for m in centres[y])
        density = core
        if not core_only:
            block = X[:, 2 : 2 + gen.n_spurious]
            dens = [stats.multivariate_normal(m, np.eye(gen.n_spurious)).pdf(block)
                    for m in gen.attribute_means()]
            density = core * (rho * dens[y] + (1 - rho) * dens[1 - y])
        columns.append(density)
    joint = np.column_stack(columns)
    return joint / joint.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("params", [{}, dict(n_spurious=3, spurious_separation=2.0, n_noise=2,
                                             core_offset=0.8, train_correlation=0.7)])
def test_posterior_matches_bayes_rule_on_scipy_densities(params):
    gen = XorShortcut(**params)
    for shift in (0.0, 0.3, 1.0):
        X = gen.sample(300, shift, rng(3)).X
        np.testing.assert_allclose(gen.posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=False), atol=1e-8)
        np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=True), atol=1e-8)


@pytest.mark.parametrize("shift", LEVELS)
def test_core_only_closed_form_matches_monte_carlo_accuracy_of_the_invariant_posterior(shift):
    gen = XorShortcut(core_offset=1.2)
    s = gen.sample(40_000, shift, rng(4))
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y,
                gen.invariant_accuracy(shift), f"invariant at {shift}")
    assert gen.invariant_accuracy(shift) == pytest.approx(
        stats.norm.cdf(1.2) ** 2 + stats.norm.cdf(-1.2) ** 2, abs=1e-12)


@pytest.mark.parametrize("shift", LEVELS)
def test_posterior_is_calibrated_on_the_samples_it_describes(shift):
    assert_calibrated(XorShortcut(), shift)


def test_bayes_accuracy_is_the_core_only_one_exactly_where_the_shortcut_says_nothing():
    gen = XorShortcut(train_correlation=0.8)
    assert gen.bayes_accuracy(0.5) == gen.invariant_accuracy(0.5)
    assert gen.bayes_accuracy(0.0) is None
    assert XorShortcut(spurious_separation=0.0).bayes_accuracy(0.0) == gen.invariant_accuracy(0.0)


def test_no_linear_rule_reads_the_core_but_the_oracle_does():
    """Logistic regression on the core alone stays at chance (4 SE of 0.5), far below the
    core-only oracle, which is what makes the linear shortcut tempting."""
    gen = XorShortcut(core_offset=1.5)
    train, test = gen.sample(4000, 0.0, rng(5)), gen.sample(20_000, 0.0, rng(6))
    model = LogisticRegression().fit(train.X[:, :2], train.y)
    assert_rate(model.predict(test.X[:, :2]) == test.y, 0.5, "linear rule on the XOR core")
    oracle = gen.invariant_posterior(test.X, 0.0).argmax(axis=1) == test.y
    assert_not_worse(oracle, model.predict(test.X[:, :2]) == test.y, "oracle vs linear")


def test_counterfactual_moves_the_spurious_block_to_the_other_attribute():
    gen = XorShortcut(n_spurious=2, n_noise=1)
    means = gen.attribute_means()
    assert_counterfactual_moves_only_the_spurious_block(
        gen, 0.3, lambda s: means[1 - s.attr] - means[s.attr])


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(XorShortcut(n_noise=2), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(train_correlation=1.5), "train_correlation"),
    (dict(core_offset=0.0), "core_offset"),
    (dict(n_spurious=0), "n_spurious"),
    (dict(spurious_separation=-1.0), "spurious_separation"),
    (dict(n_noise=-1), "n_noise"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(XorShortcut, params, field)


@pytest.mark.parametrize("name", ["xor_shortcut_r090", "xor_shortcut_r070", "xor_shortcut_faint_core"])
def test_scenario_files_load(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    assert scenario.family == "xor_shortcut" and len(scenario.shift_levels) == 3
    assert isinstance(scenario.generator(), XorShortcut)


def test_core_posterior_stays_finite_where_cosh_overflows():
    """log 2 cosh(u) stays finite where cosh overflows (|u| > 710)."""
    gen = XorShortcut(core_offset=10.0)
    X = np.array([[60.0, 60.0, 0.0], [-60.0, 60.0, 0.0]])
    p = gen.invariant_posterior(X, 0.0)
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p, special.softmax([[1200.0, 0.0], [0.0, 1200.0]], axis=1))
