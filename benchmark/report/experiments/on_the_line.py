"""Experiment 8, accuracy on the line (Miller et al., 2021): is a model's shifted accuracy a
function of its in-distribution accuracy, and which paradigm sits above the line?

A shift is one scenario: its points are the base learners (mean accuracy at shift 0 against mean
accuracy at the scenario's largest shift, largest n_train) and its line the least-squares fit in
probit space through them (`metrics.effective_robustness`, as in the main report), with the R² of
that fit saying how "on the line" the scenario is (shown, not tested). A model's effective
robustness is its distance above its scenario's line; per family, the paradigm difference has a
t-interval over scenarios. The claim and its test are `CLAIM`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from spurbench.evaluation import metrics
from spurbench.report.claims import MIN_CLUSTERS, REFERENCE_EFFECT, Verdicts
from spurbench.report.experiments import _anchors as anchors
from spurbench.report.experiments import _plots as plots
from spurbench.report.experiments._common import (
    GENERATIVE_GROUPS,
    Experiment,
    FigurePlan,
    Params,
    Pending,
    pending,
)
from spurbench.report.experiments._stats import interval, with_ci
from spurbench.report.prepare import at_largest_n_train, panel, robustness_against_panel, with_shift_levels

GOOD_FIT, POOR_FIT = 0.8, 0.5
MARGIN = REFERENCE_EFFECT
CLAIM = (
    "Published claim (Miller et al., ICML 2021, \"Accuracy on the line\"): a model's shifted accuracy "
    "follows from its in-distribution accuracy along a line in probit space shared by model families, "
    "so no family of models trained on the in-distribution data sits above it (effective robustness "
    "0). Pre-registered test: effective robustness at the largest shift (largest n_train), the panel's "
    f"discriminative minus generative mean per scenario, per family (t-interval over its scenarios) "
    f"and over all shifted scenarios, claimed within +-{MARGIN:.3f} (two one-sided tests, each "
    f"jointly Holm-corrected). **Reproduced** when the difference is clearly within +-{MARGIN:.3f}; "
    f"**contradicted** when it is clearly outside; otherwise **not detected**, stated with the power "
    f"to show it within +-{MARGIN:.3f} if the true difference were 0. An interval needs at least "
    f"{MIN_CLUSTERS} scenarios. How close the learners lie to their lines (R²) is shown, not tested.")


def scenario_lines(robust: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: its probit line (from `metrics.effective_robustness`) and the fit's R²."""
    records = []
    for (family, scenario), cell in robust.groupby(["family", "scenario"], sort=True):
        x, y = metrics.probit(cell["in_distribution"]), metrics.probit(cell["shifted"])
        finite = np.isfinite(cell["slope"].iloc[0]) and np.ptp(y) > 0
        records.append({"family": family, "scenario": scenario, "points": len(cell),
                        "slope": cell["slope"].iloc[0], "intercept": cell["intercept"].iloc[0],
                        "r2": float(np.corrcoef(x, y)[0, 1] ** 2) if finite else np.nan})
    return pd.DataFrame(records, columns=["family", "scenario", "points", "slope", "intercept", "r2"])


def _differences(per_scenario: pd.DataFrame) -> pd.Series:
    """Discriminative minus generative mean effective robustness, per scenario with both."""
    if not {"generative", "discriminative"} <= set(per_scenario.columns):
        return pd.Series(dtype=float)
    return (per_scenario["discriminative"] - per_scenario["generative"]).dropna()


def robustness_table(robust: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Per family: how well its scenarios' lines fit and each paradigm's mean effective robustness."""
    per_scenario = robust.groupby(["family", "scenario", "paradigm"])["effective_robustness"].mean().unstack()
    records = []
    for family, fits in lines.groupby("family", sort=True):
        cell = per_scenario.xs(family, level="family")
        diff = _differences(cell)
        low, high = interval(diff)
        records.append({"family": family, "scenarios": len(fits), "median_r2": fits["r2"].median(),
                        "min_r2": fits["r2"].min(),
                        **{f"er_{p}": cell[p].mean() if p in cell else np.nan
                           for p in ("generative", "discriminative")},
                        "difference": diff.mean() if len(diff) else np.nan, "ci_low": low, "ci_high": high,
                        "n_scenarios": len(diff)})
    return pd.DataFrame(records)


def _bullets(table: pd.DataFrame, lines: pd.DataFrame, robust: pd.DataFrame,
             verdicts: Verdicts) -> list[str]:
    fitted = lines.dropna(subset=["r2"])
    good, poor = fitted[fitted["r2"] >= GOOD_FIT], fitted[fitted["r2"] < POOR_FIT]
    poor_names = ", ".join(f"`{r.scenario}` ({r.r2:.2f})" for r in poor.itertuples()) or "none"
    falling = fitted[fitted["slope"] < 0]
    out = [f"The learners lie close to their scenario's probit line (R² ≥ {GOOD_FIT:g}) in {len(good)} of "
           f"{len(fitted)} shifted scenarios; the fit is poor (R² < {POOR_FIT:g}) in {poor_names}.",
           f"The line falls (the more accurate a model in distribution, the less accurate under shift) in "
           f"{len(falling)} of {len(fitted)} scenarios: "
           + (", ".join(f"`{r.scenario}` (R² {r.r2:.2f})" for r in falling.itertuples()) or "none") + "."]
    per_scenario = robust.groupby(["family", "scenario", "paradigm"])["effective_robustness"].mean().unstack()
    for r in table[np.isfinite(table["difference"])].itertuples():
        diffs = _differences(per_scenario.xs(r.family, level="family"))
        out.append(f"`{r.family}` ({r.scenarios} scenario(s)): effective robustness generative "
                   f"{r.er_generative:+.3f}, discriminative {r.er_discriminative:+.3f}; difference "
                   f"{with_ci(r.difference, r.ci_low, r.ci_high)}: "
                   f"{anchors.equivalence(diffs, MARGIN, 'scenarios', verdicts)}.")
    every = _differences(robust.groupby(["scenario", "paradigm"])["effective_robustness"].mean().unstack())
    low, high = interval(every)
    out.append(f"Over all {len(every)} shifted scenarios with both paradigms: discriminative minus "
               f"generative effective robustness {with_ci(every.mean(), low, high)}: "
               f"{anchors.equivalence(every, MARGIN, 'scenarios', verdicts)}.")
    return [*out, *_by_generative_group(robust)]


def _by_generative_group(robust: pd.DataFrame) -> list[str]:
    """The all-scenario paradigm sentence checked against both generative groups (SCIENCE.md): per
    group, discriminative minus the group's mean effective robustness per scenario, t over scenarios
    (descriptive, uncorrected), with every model it rests on."""
    if "group" not in robust:
        return []
    disc = robust[robust["paradigm"] == "discriminative"].groupby("scenario")["effective_robustness"].mean()
    parts = []
    for group in GENERATIVE_GROUPS:
        own = robust[robust["group"] == group]
        diff = (disc - own.groupby("scenario")["effective_robustness"].mean()).dropna()
        if diff.empty:
            continue
        low, high = interval(diff)
        inside = "inside" if np.isfinite(low) and low > -MARGIN and high < MARGIN else "not inside"
        named = ", ".join(f"`{m}`" for m in sorted(own["model"].unique()))
        parts.append(f"minus {group.replace('_', ' ')} {with_ci(diff.mean(), low, high)} over {len(diff)} "
                     f"scenarios, its 95% interval {inside} +-{MARGIN:.3f} ({named})")
    if not parts:
        return []
    return ["By generative group (discriminative mean effective robustness minus the group's, per scenario; "
            "t over scenarios, uncorrected, descriptive): " + "; ".join(parts) + "."]


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    rows = panel(at_largest_n_train(with_shift_levels(rows)))
    robust = robustness_against_panel(rows).merge(
        rows[["scenario", "family"]].drop_duplicates(), on="scenario")
    if "group" in rows:
        robust = robust.merge(rows[["model", "group"]].drop_duplicates("model"), on="model", how="left")
    points = robust.dropna(subset=["in_distribution", "shifted"])
    lines = scenario_lines(points)
    table = robustness_table(points, lines)
    return pending(
        lambda verdicts: _bullets(table, lines, points, verdicts) if not table.empty else [],
        tables=[("accuracy_on_the_line", "Per family: the R² of its scenarios' probit lines and each "
                 "paradigm's mean effective robustness against its scenario's line (discriminative minus "
                 "generative, 95% t-interval over scenarios)", table),
                ("accuracy_on_the_line_scenarios", "Per scenario: the probit line through its learners, and "
                 "its R²", lines)],
        figures=[FigurePlan(
            "exp_accuracy_on_the_line", "Accuracy at shift 0 versus at the largest shift (probit axes), one "
            "point per scenario and base learner (mean over seeds, largest n_train), one panel per family; "
            "grey: each scenario's probit line through its learners; dotted: no degradation.",
            lambda: plots.on_the_line(points, lines))])


EXPERIMENT = Experiment(
    8, None, "Accuracy on the line",
    "Within each family, is shifted accuracy a function of in-distribution accuracy, and which "
    "paradigm sits above the line?",
    analyse, select=with_shift_levels, claim=CLAIM)
