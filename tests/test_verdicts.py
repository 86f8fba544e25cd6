"""The three-word verdicts on published claims (`claims.paper_outcome`, `_stats.verdict`): planted
effects of known size and direction get the verdict the rule promises, and every "reproduced" or
"contradicted" rests on a test that survives the joint Holm correction.

Tolerances: each planted effect sits many standard errors from the bounds it is judged against
(stated per test), so the fixed draws below are far from any boundary of the rule.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats
from spurbench.report import claims
from spurbench.report.experiments._stats import interval, judged, verdict

EFFECT = claims.REFERENCE_EFFECT  # 0.020


def _draws(mean: float, sd: float, n: int, seed: int = 0) -> tuple[float, float, float, int]:
    """Per-seed differences with a planted mean: their mean, 95% t-interval and count."""
    values = np.random.default_rng(seed).normal(mean, sd, n)
    low, high = interval(values)
    return float(values.mean()), low, high, n


def _judge_jointly(tests: list[tuple[float, float, float, int, int]]) -> list[str]:
    """The verdicts of `tests` (mean, low, high, n, expected) after collecting and Holm-adjusting
    every claim they ask, as the renderer does (a dry run collects them, one correction answers)."""
    recorder = claims.Recorder()
    for mean, low, high, n, expected in tests:
        verdict(mean, low, high, n, expected, verdicts=recorder)
    corrected = claims.correct(recorder.claims)
    return [verdict(mean, low, high, n, expected, verdicts=corrected)
            for mean, low, high, n, expected in tests]


def test_every_test_makes_two_claims_against_0_and_against_the_claimed_size():
    recorder = claims.Recorder()
    claims.paper_outcome(0.01, 0.03, 20, expected=1, verdicts=recorder)
    claims.paper_outcome(0.01, 0.03, 2, expected=1, verdicts=recorder)  # fewer than three units: none
    assert len(recorder.claims) == 2
    mean, low, high, n = 0.02, 0.01, 0.03, 20
    se = (high - low) / 2 / stats.t.ppf(0.975, n - 1)
    assert recorder.claims[0].p_value == pytest.approx(2 * stats.t.sf(mean / se, n - 1))
    # the interval is centred on the claimed 0.020
    assert recorder.claims[1].p_value == pytest.approx(1.0)


def test_a_large_effect_in_the_claimed_direction_is_reproduced():
    # +0.10 with sd 0.02 over 20 seeds: se 0.0045, 22 standard errors above 0, 18 above 0.020
    found = _judge_jointly([(*_draws(0.10, 0.02, 20), 1), (*_draws(-0.10, 0.02, 20, seed=1), -1)])
    assert found == ["reproduced", "reproduced"]


def test_an_effect_the_other_way_is_contradicted():
    # -0.05 against a claim of at least +0.020: 11 standard errors below 0
    assert _judge_jointly([(*_draws(-0.05, 0.02, 20), 1)]) == ["contradicted (clearly the other way)"]


def test_an_effect_below_the_margin_whose_interval_excludes_it_is_contradicted_and_names_it():
    # +0.005 with sd 0.01 over 60 seeds: se 0.0013, so 0 and 0.020 are each many errors away
    mean, low, high, n = _draws(0.005, 0.01, 60)
    assert low > 0 and high < EFFECT
    text = judged(mean, low, high, n, expected=1)
    (found,) = _judge_jointly([(mean, low, high, n, 1)])
    assert found == ("contradicted (clearly smaller in size than the pre-registered 0.020: the interval "
                     f"stops at {high:+.3f})")
    assert text.startswith(f"{mean:+.3f} (95% CI {low:+.3f} to {high:+.3f}): contradicted")
    assert "not detected" not in text and "power 1.00" not in text


def test_a_known_null_with_a_precise_design_contradicts_a_claimed_size():
    # a true 0 with sd 0.02 over 200 seeds: the interval (half-width ~0.003) excludes 0.020; the
    # claim of an effect at least that large is refuted, not merely undetected
    (found,) = _judge_jointly([(*_draws(0.0, 0.02, 200), 1)])
    assert found.startswith("contradicted (clearly smaller in size than the pre-registered 0.020")


def test_a_known_null_among_many_claims_is_not_detected_with_its_corrected_power():
    # sd 0.03 over 30 seeds: se ~0.0063, power ~0.86 for 0.020 at level 0.05; the test against the
    # claimed size has p ~ 0.001, which 100 other claims' Holm correction does not let through, and
    # the power stated is the one at the corrected level (0.05 / 202 claims), below 0.8
    mean, low, high, n = _draws(0.0, 0.03, 30, seed=3)
    others = [(*_draws(0.0, 1.0, 10, seed=10 + i), 1) for i in range(100)]
    found = _judge_jointly([(mean, low, high, n, 1), *others])[0]
    stated = float(re.search(r"^not detected \(power (\d\.\d\d) for a difference of 0\.020 at the "
                             r"corrected level; 80% power from 0\.0\d\d; the 95% interval excludes \+0\.020, "
                             r"but not after the joint correction\)$", found).group(1))
    assert claims.power(low, high, n, EFFECT) >= 0.8
    assert stated == pytest.approx(claims.power(low, high, n, EFFECT, alpha=0.05 / 202), abs=0.005)
    assert stated < 0.8


def test_an_effect_half_the_margin_measured_with_power_is_not_detected_with_that_power():
    # +0.010 with se 0.02 / 3.5: each test is 1.75 standard errors from its bound (p ~ 0.09), and
    # the design's power for 0.020 at the corrected level (0.05 / 2 claims) is above 0.8
    n, se = 60, EFFECT / 3.5
    half = stats.t.ppf(0.975, n - 1) * se
    (found,) = _judge_jointly([(0.010, 0.010 - half, 0.010 + half, n, 1)])
    stated = float(re.search(r"^not detected \(power (\d\.\d\d)", found).group(1))
    assert stated >= 0.8


def test_an_effect_half_the_margin_with_a_wide_interval_is_not_detected():
    # +0.010 with se ~0.007: the interval holds both 0 and 0.020
    mean, low, high, n = _draws(0.010, 0.03, 20, seed=4)
    assert low < 0 < EFFECT < high
    (found,) = _judge_jointly([(mean, low, high, n, 1)])
    assert found.startswith("not detected (power 0.")


def test_reproduced_and_contradicted_need_the_corrected_test():
    # p ~ 0.01 against 0 is clear alone but not after Holm over 100 null claims
    alone = (0.02, 0.005, 0.035, 20, 1)
    assert _judge_jointly([alone]) == ["reproduced"]
    crowd = [(*_draws(0.0, 1.0, 10, seed=20 + i), 1) for i in range(100)]
    found = _judge_jointly([alone, *crowd])[0]
    assert found.startswith("not detected (power")
    assert found.endswith("the 95% interval excludes 0, but not after the joint correction)")


def test_no_interval_or_too_few_units_gives_no_verdict_and_asks_nothing():
    recorder = claims.Recorder()
    assert verdict(0.1, np.nan, np.nan, 20, 1, verdicts=recorder) == "no verdict (no interval)"
    assert verdict(0.1, 0.05, 0.15, 2, 1, verdicts=recorder).startswith("no verdict (fewer than 3")
    assert recorder.claims == []
