"""The joint Holm correction: planted nulls are never called clear, planted strong effects are,
and an interval from fewer than three units never is."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from spurbench.report import claims
from statsmodels.stats.multitest import multipletests


def _two_passes(intervals: list[tuple[float, float, int]]) -> list[int]:
    """Collect every claim as a value, correct them once, then answer each from the correction."""
    recorder = claims.Recorder()
    for low, high, n in intervals:
        recorder.decide(low, high, n)
    corrected = claims.correct(recorder.claims)
    return [corrected.decide(low, high, n) for low, high, n in intervals]


def _interval(values: np.ndarray) -> tuple[float, float, int]:
    result = stats.ttest_1samp(values, 0.0).confidence_interval()
    return float(result.low), float(result.high), len(values)


def test_planted_nulls_are_never_clear_after_the_joint_correction():
    # 200 null claims of 10 units each: uncorrected, about 10 would exclude 0; after Holm the
    # family-wise error is at most 5%, and this fixed draw has none.
    rng = np.random.default_rng(0)
    intervals = [_interval(rng.normal(0, 1, 10)) for _ in range(200)]
    raw = sum(low > 0 or high < 0 for low, high, _ in intervals)
    assert raw >= 3  # the uncorrected intervals would have made false calls
    assert _two_passes(intervals) == [0] * 200


def test_planted_strong_effects_survive_among_nulls_with_their_sign():
    rng = np.random.default_rng(1)
    nulls = [_interval(rng.normal(0, 1, 10)) for _ in range(50)]
    strong = [_interval(rng.normal(sign * 3, 1, 10)) for sign in (1, -1)]
    decisions = _two_passes(nulls + strong)
    assert decisions[-2:] == [1, -1]
    assert decisions[:-2] == [0] * 50


def test_the_p_value_from_an_interval_is_the_t_tests_and_holm_matches_statsmodels():
    values = np.array([0.3, 0.1, 0.4, 0.2, 0.25])
    low, high, n = _interval(values)
    assert claims.p_from_interval(low, high, n) == pytest.approx(stats.ttest_1samp(values, 0).pvalue)
    made = [claims.Claim(0.1, 0.3, 10, p) for p in (0.01, 0.04, 0.03)]
    corrected = claims.correct(made)
    expected = multipletests([0.01, 0.04, 0.03], 0.05, "holm")[1]
    assert [corrected.adjusted[c] for c in made] == pytest.approx(expected)


def test_each_level_of_the_hierarchy_is_corrected_on_its_own():
    # One primary claim at p = 0.01 beside 99 exploratory claims: corrected jointly over 100 it
    # would need p < 0.0005 and fail; within its own level (one claim) it is clear. The exploratory
    # claim with the same p is judged among its 99 (Holm's first step asks p < 0.05 / 99): not clear.
    nulls = [(-0.1, 0.1, 10)] * 98

    def ask_all(verdicts: claims.Verdicts) -> list[int]:
        first = verdicts.decide(0.1, 0.3, 10, p_value=0.01, level=claims.PRIMARY)
        same = verdicts.decide(0.1, 0.3, 10, p_value=0.01, level=claims.EXPLORATORY)
        return [first, same] + [verdicts.decide(lo, hi, n, level=claims.EXPLORATORY) for lo, hi, n in nulls]

    recorder = claims.Recorder()
    ask_all(recorder)
    corrected = claims.correct(recorder.claims)
    decisions = ask_all(corrected)
    assert decisions[:2] == [1, 0] and set(decisions[2:]) == {0}
    assert corrected.n_claims(claims.PRIMARY) == 1 and corrected.n_claims(claims.EXPLORATORY) == 99
    assert corrected.alpha(claims.PRIMARY) == pytest.approx(0.05 / claims.PRIMARY_CLAIMS)


def test_the_smallest_detectable_difference_is_the_t_tests_at_the_claims_level():
    # se = 0.01 over 10 units: (t(1 - alpha/2, 9) + t(0.8, 9)) * 0.01; at alpha 0.05 / 3 the
    # critical value grows from 2.262 to 2.933, so the design resolves less.
    half = stats.t.ppf(0.975, 9) * 0.01
    assert claims.detectable(-half, half, 10) == pytest.approx((2.262157 + 0.883404) * 0.01, rel=1e-5)
    assert claims.detectable(-half, half, 10, 0.05 / 3) == pytest.approx(
        (stats.t.ppf(1 - 0.05 / 6, 9) + stats.t.ppf(0.8, 9)) * 0.01)


def test_fewer_than_three_units_are_never_clear_and_not_counted():
    recorder = claims.Recorder()
    assert recorder.decide(0.5, 0.6, 2, p_value=1e-12) == 0
    assert recorder.decide(0.5, 0.6, 3, p_value=1e-12) == 1
    assert len(recorder.claims) == 1


def test_power_is_reported_for_the_observed_spread():
    # se = half-width / t(0.975, 9); a 2-point effect against se 0.01 * ... checked against statsmodels
    low, high, n = -0.01, 0.01, 10
    power = claims.power(low, high, n)
    assert 0 < power < 1
    assert claims.power(-0.001, 0.001, 10) == pytest.approx(1.0)  # far in the tail: normal approximation


def test_the_units_a_design_needs_for_a_target_resolution_solve_the_detectable_formula():
    # An interval over 10 units with se 0.01 (sd 0.0316): detectable(alpha 0.05/3) is about 3.4
    # points, so a 3-point target needs more than 10 units, and at the returned m the formula holds
    # while at m - 1 it does not.
    half = stats.t.ppf(0.975, 9) * 0.01
    alpha = 0.05 / 3
    m = claims.units_for(0.03, -half, half, 10, alpha)
    sd = 0.01 * np.sqrt(10)

    def resolves(k: int) -> float:
        return (stats.t.ppf(1 - alpha / 2, k - 1) + stats.t.ppf(0.8, k - 1)) * sd / np.sqrt(k)

    assert m > 10 and resolves(m) <= 0.03 < resolves(m - 1)
    assert claims.units_for(0.03, 0.0, 0.0, 10) is None  # no spread: nothing to size
