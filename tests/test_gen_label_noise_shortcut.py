"""`label_noise_shortcut`: realised flip rates and agreement, the posterior against a direct sum
over (y*, a), the core-only closed form, calibration, the Sample contract and validation.

Realised rates allow 3 standard errors (as requested of the family); the other statistical checks
4 (see `stat_checks`); exact checks 1e-8.
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
from scipy import stats
from spurbench.generators.label_noise_shortcut import LabelNoiseShortcut
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_rate

LEVELS = (0.0, 0.5, 1.0)


def _clean_labels(gen: LabelNoiseShortcut, s) -> np.ndarray:
    """y* read off the core block (exact up to 1e-300 when the core separation is 40)."""
    return (s.X[:, : gen.n_core].sum(axis=1) > 0).astype(int)


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_flip_rates_and_agreement_are_within_3_se_of_the_requested_ones(shift):
    gen = LabelNoiseShortcut(noise_rate=0.4, core_separation=40.0)  # y* readable from the core
    s = gen.sample(40_000, shift, rng(1))
    clean = _clean_labels(gen, s)
    towards, away = gen.flip_rates(shift)
    assert_rate(s.y[clean != s.attr] != clean[clean != s.attr], towards, "flips towards a",
                tolerance=3.0)
    assert_rate(s.y[clean == s.attr] != clean[clean == s.attr], away, "flips away from a",
                tolerance=3.0)
    assert_rate(s.y != clean, 0.2, "overall flip rate eta / 2", tolerance=3.0)
    assert_rate(s.attr == s.y, gen.agreement(shift), "P(y = a)", tolerance=3.0)
    assert gen.agreement(shift) == pytest.approx(0.5 + 0.2 * (1 - 2 * shift))
    np.testing.assert_array_equal(s.group, 2 * s.y + s.attr)


def _reference_posterior(gen: LabelNoiseShortcut, X: np.ndarray, shift: float, core_only: bool):
    """sum over (y*, a) of P(y*) P(a) P(core | y*) P(spurious | a) P(y | y*, a), from scipy."""
    towards, away = gen.flip_rates(shift)
    core, spurious = X[:, : gen.n_core], X[:, gen.n_core : gen.n_core + gen.n_spurious]

    def means(width, separation):
        return np.outer([-1.0, 1.0], np.full(width, separation / 2 / np.sqrt(width)))

    core_means, attr_means = means(gen.n_core, gen.core_separation), means(gen.n_spurious,
                                                                           gen.spurious_separation)
    joint = np.zeros((len(X), 2))
    for clean in (0, 1):
        p_core = stats.multivariate_normal(core_means[clean], np.eye(gen.n_core)).pdf(core)
        for a in (0, 1):
            p_spur = 1.0 if core_only else stats.multivariate_normal(
                attr_means[a], np.eye(gen.n_spurious)).pdf(spurious)
            flip = away if clean == a else towards
            for y in (0, 1):
                joint[:, y] += 0.25 * p_core * p_spur * (flip if y != clean else 1 - flip)
    return joint / joint.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("params", [{}, dict(n_core=3, n_spurious=2, noise_rate=0.7, n_noise=1)])
def test_posterior_matches_a_direct_sum_over_clean_label_and_attribute(params):
    gen = LabelNoiseShortcut(**params)
    for shift in (0.0, 0.3, 1.0):
        X = gen.sample(300, shift, rng(3)).X
        np.testing.assert_allclose(gen.posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=False), atol=1e-8)
        np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=True), atol=1e-8)


@pytest.mark.parametrize("shift", LEVELS)
def test_core_only_closed_form_matches_monte_carlo_and_the_posterior_is_calibrated(shift):
    gen = LabelNoiseShortcut(noise_rate=0.3)
    s = gen.sample(40_000, shift, rng(4))
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y,
                gen.invariant_accuracy(shift), f"invariant at {shift}")
    p = stats.norm.cdf(1.0)
    assert gen.invariant_accuracy(shift) == pytest.approx(0.85 * p + 0.15 * (1 - p), abs=1e-12)
    assert_calibrated(gen, shift)


def test_bayes_accuracy_is_the_core_only_one_exactly_where_the_attribute_says_nothing():
    gen = LabelNoiseShortcut()
    assert gen.bayes_accuracy(0.5) == gen.invariant_accuracy(0.5)
    assert gen.bayes_accuracy(0.0) is None


def test_counterfactual_moves_the_spurious_block_and_keeps_the_label():
    gen = LabelNoiseShortcut(n_spurious=2, n_noise=1)
    means = gen._attribute_means
    assert_counterfactual_moves_only_the_spurious_block(
        gen, 0.3, lambda s: means[1 - s.attr] - means[s.attr])


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(LabelNoiseShortcut(n_noise=2), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(noise_rate=1.0), "noise_rate"),
    (dict(noise_rate=-0.1), "noise_rate"),
    (dict(n_core=0), "n_core"),
    (dict(n_spurious=0), "n_spurious"),
    (dict(core_separation=0.0), "core_separation"),
    (dict(spurious_separation=-1.0), "spurious_separation"),
    (dict(n_noise=-2), "n_noise"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(LabelNoiseShortcut, params, field)


@pytest.mark.parametrize("name", ["label_noise_shortcut_eta040", "label_noise_shortcut_eta020",
                                  "label_noise_shortcut_faint_attribute"])
def test_scenario_files_load(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    assert scenario.family == "label_noise_shortcut" and len(scenario.shift_levels) == 3
    assert isinstance(scenario.generator(), LabelNoiseShortcut)
