"""`cows_camels` (Aubin et al. 2021, Example2): realised group shares, the published construction,
the exact 0/1 posterior, the Sample contract and validation.

Realised shares allow 3 standard errors (as requested of the family); exact checks 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import (
    assert_counterfactual_moves_only_the_spurious_block,
    assert_rejected,
    assert_seeded,
    rng,
)
from spurbench.generators.cows_camels import CowsCamels
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_rate


@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_group_shares_are_within_3_se_of_the_requested_shares(shift):
    gen = CowsCamels()
    s = gen.sample(40_000, shift, rng(1))
    for group, share in enumerate(gen.group_shares(shift)):
        assert_rate(s.group == group, share, f"group {group} at {shift}", tolerance=3.0)


def test_training_shares_are_the_published_environment_mixture():
    """P(cow, grass) = mean over E0-E2 of s_e p_e = (0.3 * 0.95 + 0.5 * 0.97 + 0.7 * 0.99) / 3."""
    shares = CowsCamels().training_shares()
    assert shares[1, 1] == pytest.approx((0.285 + 0.485 + 0.693) / 3)
    assert shares[0, 0] == pytest.approx((0.7 * 0.95 + 0.5 * 0.97 + 0.3 * 0.99) / 3)
    assert shares.sum() == pytest.approx(1.0)


def test_shift_one_makes_the_background_independent_of_the_animal():
    shares = CowsCamels().group_shares(1.0).reshape(2, 2)
    np.testing.assert_allclose(shares, np.outer(shares.sum(axis=1), shares.sum(axis=0)), atol=1e-12)


def test_features_have_the_published_means_and_scales():
    """Invariant features (c + N(0, 1/10)) * 0.01, spurious ones (b + N(0, 1/10)) * 1."""
    gen = CowsCamels()
    s = gen.sample(20_000, 0.0, rng(2))
    sign_y, sign_b = 2.0 * s.y - 1.0, 2.0 * s.attr - 1.0
    for j in range(5):
        assert_mean(s.X[:, j] * sign_y, 0.01, f"invariant feature {j} mean")
        assert_mean((s.X[:, j] - 0.01 * sign_y) ** 2, 1e-5, f"invariant feature {j} variance")
        assert_mean(s.X[:, 5 + j] * sign_b, 1.0, f"spurious feature {j} mean")
        assert_mean((s.X[:, 5 + j] - sign_b) ** 2, 0.1, f"spurious feature {j} variance")


@pytest.mark.parametrize("shift", [0.0, 1.0])
def test_posterior_is_the_published_labelling_rule_and_the_oracles_are_exact(shift):
    gen = CowsCamels(dim_inv=1)  # the label then differs from the animal often enough to see
    s = gen.sample(20_000, shift, rng(3))
    p = gen.posterior(s.X, shift)
    np.testing.assert_array_equal(p[:, 1], s.X[:, 0] > 0)
    np.testing.assert_array_equal(p.argmax(axis=1), s.y)
    np.testing.assert_array_equal(gen.invariant_posterior(s.X, shift), p)
    assert gen.bayes_accuracy(shift) == gen.invariant_accuracy(shift) == 1.0


def test_counterfactual_swaps_the_background_and_keeps_the_animal():
    gen = CowsCamels(dim_spu=3, background_scale=2.0)
    assert_counterfactual_moves_only_the_spurious_block(
        gen, 0.4, lambda s: np.repeat((2.0 - 4.0 * s.attr)[:, None] * 2.0, 3, axis=1))


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(CowsCamels(), 0.5)


@pytest.mark.parametrize("params, field", [
    (dict(dim_inv=0), "dim_inv"),
    (dict(dim_spu=0), "dim_spu"),
    (dict(env_agreement=[]), "env_agreement"),
    (dict(env_agreement=0.9), "env_agreement"),
    (dict(env_agreement=[0.9, 1.2], env_cow_share=[0.5, 0.5]), "env_agreement"),
    (dict(env_agreement=[0.9, 0.8], env_cow_share=[0.5]), "env_cow_share"),
    (dict(foreground_scale=0.0), "foreground_scale"),
    (dict(background_scale=-1.0), "background_scale"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(CowsCamels, params, field)


@pytest.mark.parametrize("name", ["cows_camels_3env", "cows_camels_2env", "cows_camels_spu20"])
def test_scenario_files_load(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    assert scenario.family == "cows_camels" and len(scenario.shift_levels) == 3
    assert isinstance(scenario.generator(), CowsCamels)
