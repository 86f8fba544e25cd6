"""Claims as values: built from intervals, Holm-corrected once per level, and the verdicts that
need the corrected level written only from the correction's result."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from scipy import stats
from spurbench.report import analysis, claims, experiments, findings, render
from statsmodels.stats.multitest import multipletests
from test_report import _small_results, _write_run


def test_a_claim_is_made_only_from_a_finite_interval_over_enough_units():
    assert claims.Claim.of(0.1, 0.3, claims.MIN_CLUSTERS - 1) is None
    assert claims.Claim.of(float("nan"), 0.3, 10) is None
    assert claims.Claim.of(0.1, 0.3, 10, p_value=float("nan")) is None
    made = claims.Claim.of(-0.3, -0.1, 10, level=claims.SECONDARY)
    assert made.direction == -1 and made.level == claims.SECONDARY
    assert made.p_value == pytest.approx(claims.p_from_interval(-0.3, -0.1, 10))


def test_each_level_is_holm_corrected_on_its_own_and_nothing_is_shared_between_corrections():
    # p = 0.01 alone at the primary level is clear; the same p among 99 exploratory claims faces
    # Holm's first step 0.05 / 99 and is not. The secondary level's three p-values are adjusted
    # exactly as statsmodels' Holm does.
    primary = claims.Claim(0.1, 0.3, 10, 0.01, claims.PRIMARY)
    same = claims.Claim(0.1, 0.3, 10, 0.01, claims.EXPLORATORY)
    nulls = [claims.Claim(-0.1, 0.1 + i / 1000, 10, 0.5 + i / 1000) for i in range(98)]
    secondary = [claims.Claim(0.1, 0.3, 10, p, claims.SECONDARY) for p in (0.01, 0.04, 0.03)]
    corrected = claims.correct([primary, same, None, *nulls, *secondary])
    assert corrected.sign(primary) == 1 and corrected.sign(same) == 0
    assert [corrected.adjusted[c] for c in secondary] == pytest.approx(
        multipletests([0.01, 0.04, 0.03], 0.05, "holm")[1])
    assert corrected.counts == {claims.PRIMARY: 1, claims.SECONDARY: 3, claims.EXPLORATORY: 99}
    assert corrected.alpha(claims.EXPLORATORY) == pytest.approx(0.05 / 99)
    assert corrected.alpha(claims.PRIMARY) == pytest.approx(0.05 / claims.PRIMARY_CLAIMS)
    # a second correction of the exploratory claim alone is independent of the first
    alone = claims.correct([same])
    assert alone.sign(same) == 1 and corrected.sign(same) == 0
    # a claim the correction never saw is never clear; uncorrected, each claim faces 0.05 alone
    assert claims.correct([]).sign(same) == 0 and claims.UNCORRECTED.sign(same) == 1


def _effects(p_values: list[float]) -> pd.DataFrame:
    """Secondary lines of the effects table (pre-registered pairs), one per p-value, each with the
    same interval: +1 to +3 points over 5 families."""
    return pd.DataFrame([{
        "contrast": f"mlp - model_{i}", "metric": "drop", "selection": "panel", "flagged": "excluded",
        "method": analysis.FAMILY_T, "n_families": 5, "n_scenarios": 9, "estimate": 0.02,
        "ci_low": 0.01, "ci_high": 0.03, "lofo_low": float("nan"), "lofo_high": float("nan"),
        "p_value": p, "clusters": 5} for i, p in enumerate(p_values)])


def test_effect_lines_are_judged_at_the_corrected_level_of_their_claims():
    # three secondary claims: Holm adjusts p = 0.02 to 0.06 (not clear, although uncorrected it
    # is), and the power sentence states the design's resolution at 0.05 / 3.
    effects = _effects([0.02, 0.5, 0.6])
    made = findings.effect_claims(effects)
    assert [c.level for c in made] == [claims.SECONDARY] * 3
    corrected = claims.correct(made)
    lines = findings.effect_lines(effects, corrected)
    se = 0.01 / stats.t.ppf(0.975, 4)
    smallest = 100 * se * (stats.t.ppf(1 - 0.05 / 6, 4) + stats.t.ppf(0.8, 4))
    assert lines[1] == (
        "  - drop: +2.00 points (95% CI +1.00 to +3.00; 9 scenarios in 5 families): no clear difference "
        f"after the secondary level's Holm correction; the design detects {smallest:.1f} points with 80% "
        "power at the secondary level (alpha 0.0167).")
    assert "clearly (secondary), `mlp` drops more" in findings.effect_lines(effects)[1]  # uncorrected
    # one secondary claim alone: clear after its (trivial) correction
    alone = _effects([0.02])
    corrected = claims.correct(findings.effect_claims(alone))
    assert "clearly (secondary)" in findings.effect_lines(alone, corrected)[1]


def test_the_lines_judged_are_the_claims_made():
    # every judged line makes exactly the claim it is judged by, in the order shown (per contrast:
    # the panel line, then its sensitivity analysis)
    effects = pd.concat([_effects([0.01, 0.2]), _effects([0.03]).assign(selection="mixed model"),
                         _effects([0.04]).assign(selection="other")], ignore_index=True)
    made = findings.effect_claims(effects)
    assert [c.p_value for c in made] == [0.01, 0.03, 0.2]  # the "other" selection is not shown
    assert [c.level for c in made] == [claims.SECONDARY, claims.EXPLORATORY, claims.SECONDARY]


def test_a_report_analyses_each_experiment_once_and_two_reports_in_one_process_agree(tmp_path, monkeypatch):
    # every experiment's analyse is wrapped with a counter; two reports of the same rows are
    # written one after the other in this process: nothing carries over from the first
    calls: dict[str, int] = {}

    def counted(experiment: experiments.Experiment) -> experiments.Experiment:
        def analyse(rows: pd.DataFrame, params: experiments.Params) -> object:
            calls[experiment.title] = calls.get(experiment.title, 0) + 1
            return experiment.analyse(rows, params)
        return replace(experiment, analyse=analyse)

    wrapped = [counted(e) for e in experiments.discover()]
    monkeypatch.setattr(render.experiments, "discover", lambda: wrapped)
    frame = _small_results()
    first = _write_run(tmp_path / "a" / "run", frame)
    assert calls and set(calls.values()) == {1}  # every experiment with rows, analysed once
    calls.clear()
    second = _write_run(tmp_path / "b" / "run", frame)
    assert calls and set(calls.values()) == {1}
    for name in ("report.md", "experiments.md"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert "Holm-corrected within its level" in (first / "experiments.md").read_text()
