"""Experiment 15, the matched neural pair: does a learned generative classifier degrade less than a
discriminative network of the same capacity?

Published claim (Li, Kumar & Pathak, ICLR 2025, "Generative classifiers avoid shortcut
solutions"): class-conditional deep generative models (diffusion, autoregressive) rely less on
spurious features than discriminative networks and so lose less under distribution shift. Here the
two sides are a matched pair (`benchmark/models/_neural_nets.py`): `neural_flow`, one masked
autoregressive density per class (flexible generative), and `neural_mlp`, its twin with the same
hidden layers, optimiser, steps and standardisation (non-linear discriminative).

Pre-registered comparison, on every scenario with shifts where both ran (largest n_train, panel
rows, flagged fits out, `analysis.fit_outcomes`): `neural_mlp` minus `neural_flow` per (scenario,
seed), paired on the seed (both saw the same data), on (a) the drop (shift 0 minus the shifted
levels, the README's definition) and (b) worst-group accuracy at the largest shift. The claim
predicts (a) above 0 and (b) below 0. Across scenarios, the family-level estimate of
`analysis.family_estimate` (mixed model with family and scenario-in-family random effects; its
stated fallbacks otherwise); per family, the same estimate within the family. Verdicts by the
shared rule (`_stats.verdict`, against the pre-registered size 0.020); the per-family estimates
are descriptive (no verdict, so no claim of the joint correction). Where on the phase diagram: per
cell of its grid (the `exp_phase_*` scenarios), the pair's worst-group accuracy at shift 0.5 (where
the phase-diagram section reads it), paired over seeds, each cell judged by the claim book as that
section judges its cells.
"""

from __future__ import annotations

from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from spurbench.report.analysis import Contrast, differences, family_estimate, fit_outcomes
from spurbench.report.claims import UNCORRECTED, Verdicts
from spurbench.report.experiments import _anchors as anchors
from spurbench.report.experiments._common import (
    GROUP_SHIFT,
    Experiment,
    FigurePlan,
    Params,
    Pending,
    Section,
    param,
    rule,
)
from spurbench.report.experiments._stats import at_level, clear_signs, verdict, with_ci
from spurbench.report.figures import NotEnoughData
from spurbench.report.prepare import at_largest_n_train

FLOW, MLP = "neural_flow", "neural_mlp"
PAIR = Contrast(f"{MLP} - {FLOW}", "model", MLP, FLOW, "the matched neural pair")
# metric of `analysis.fit_outcomes` -> (label, the sign the published claim predicts for MLP - flow)
CLAIMS = {"drop": ("drop", 1), "wga_largest_shift": ("worst-group accuracy at the largest shift", -1)}
PHASE = ["core_noise", "spurious_noise", "d_over_n"]
PHASE_PREFIX = "exp_phase_"  # the phase diagram's grid of scenarios
# Per-family rows describe; only the family-level estimate is a claim of the joint correction.
DESCRIPTIVE = "descriptive (no verdict)"
ESTIMATE_COLUMNS = ["family", "metric", "estimate", "ci_low", "ci_high", "method", "clusters",
                    "n_scenarios", "n_units", "verdict"]


def estimates(rows: pd.DataFrame, verdicts: Verdicts = UNCORRECTED) -> pd.DataFrame:
    """Per metric of `CLAIMS`: the family-level estimate over every family ("all"), then per family.

    Returns one row per (family, metric) with the estimate of `neural_mlp` minus `neural_flow`, its
    95% interval, the method that gave it and the clusters it rests on; the "all" rows carry the
    verdict `verdicts` gives, the per-family rows are descriptive (they add no claim).
    """
    return judged_estimates(_estimates(rows), verdicts)


def judged_estimates(table: pd.DataFrame, verdicts: Verdicts) -> pd.DataFrame:
    """`_estimates` with the verdict column: the claim's on the "all" rows, else `DESCRIPTIVE`."""
    found = [verdict(r.estimate, r.ci_low, r.ci_high, r.clusters, CLAIMS[r.metric][1], verdicts=verdicts)
             if r.family == "all" else DESCRIPTIVE for r in table.itertuples()]
    return table.assign(verdict=pd.Series(found, index=table.index, dtype=object))


def _estimates(rows: pd.DataFrame) -> pd.DataFrame:
    """`estimates` without the verdicts (the numbers: no claim is asked)."""
    outcomes = fit_outcomes(rows)
    records = []
    for metric in CLAIMS:
        diffs = differences(outcomes, PAIR, metric)
        parts = [("all", diffs), *diffs.groupby("family", sort=True)] if not diffs.empty else []
        for family, part in parts:
            found = family_estimate(part)
            records.append({"family": family, "metric": metric, **{k: found[k] for k in (
                "estimate", "ci_low", "ci_high", "method", "clusters", "n_scenarios", "n_units")}})
    return pd.DataFrame(records, columns=ESTIMATE_COLUMNS[:-1])


def phase_table(rows: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Per phase-diagram cell (an `exp_phase_*` scenario, largest n_train): both models' worst-group
    accuracy at shift 0.5 and the paired gap, `neural_mlp` minus `neural_flow`."""
    rows = at_largest_n_train(rows)
    cells = rows[rows["scenario"].str.startswith(PHASE_PREFIX)]
    if cells.empty:
        return pd.DataFrame(columns=["scenario", *PHASE, FLOW, MLP, "gap", "ci_low", "ci_high", "n_seeds"])
    dimension = sum(param(cells, params, key, 1 if key != "n_noise" else 0)
                    for key in ("n_core", "n_spurious", "n_noise"))
    cells = at_level(cells.assign(core_noise=param(cells, params, "core_noise"),
                                  spurious_noise=param(cells, params, "spurious_noise"),
                                  d_over_n=(dimension / cells["n_train"]).round(2)), GROUP_SHIFT)
    keys = ["scenario", *PHASE]
    flow = anchors.side(cells, "worst_group_accuracy", [FLOW], keys)
    mlp = anchors.side(cells, "worst_group_accuracy", [MLP], keys)
    records = []
    for key, part in pd.concat([flow.rename(FLOW), mlp.rename(MLP)], axis=1).groupby(level=keys):
        diff, low, high, n = anchors.paired(part[FLOW], part[MLP])
        records.append({**dict(zip(keys, key, strict=True)), FLOW: part[FLOW].mean(), MLP: part[MLP].mean(),
                        "gap": diff, "ci_low": low, "ci_high": high, "n_seeds": n})
    return pd.DataFrame(records).sort_values(["core_noise", "d_over_n", "spurious_noise"], ignore_index=True)


def _cells(part: pd.DataFrame) -> str:
    return ", ".join(f"({r.core_noise:g}, {r.spurious_noise:g}, d/n {r.d_over_n:g})"
                     for r in part.itertuples()) or "none"


def _bullets(table: pd.DataFrame, phase: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    lines = []
    overall = table[table["family"] == "all"].set_index("metric")
    for metric, (label, expected) in CLAIMS.items():
        if metric not in overall.index:
            continue
        row = overall.loc[metric]
        found = with_ci(row["estimate"], row["ci_low"], row["ci_high"])
        direction = "more" if expected > 0 else "less"
        lines.append(
            f"{label[0].upper()}{label[1:]}, `{MLP}` minus `{FLOW}` ({row['method']}, {row['clusters']} "
            f"clusters, {row['n_scenarios']} scenarios): {found}: "
            f"{row['verdict']} (the claim predicts the discriminative twin scores {direction}).")
    per_family = table[(table["family"] != "all") & (table["metric"] == "drop")]
    if not per_family.empty:
        lines.append("Drop difference per family: " + "; ".join(
            f"{r.family} {with_ci(r.estimate, r.ci_low, r.ci_high)}" for r in per_family.itertuples())
            + " (descriptive).")
    if not phase.empty:
        signs = clear_signs(phase, "ci_low", "ci_high", "n_seeds", verdicts)
        ahead, behind = phase[signs < 0], phase[signs > 0]
        lines.append(
            f"Phase diagram (worst-group accuracy at shift {GROUP_SHIFT:g}, cells as (core noise, spurious "
            f"noise, d/n)): `{FLOW}` clearly ahead in {len(ahead)} of {len(phase)} cells: {_cells(ahead)}; "
            f"clearly behind in {len(behind)}: {_cells(behind)}; gaps ({MLP} minus {FLOW}) "
            f"{phase['gap'].min():+.3f} to {phase['gap'].max():+.3f}.")
    return lines


# What the figure reads: not the verdicts, which change with the joint correction, so the figure
# drawn in the report's first pass is the one it keeps.
FIGURE_COLUMNS = ["family", "metric", "estimate", "ci_low", "ci_high"]


def _figure(table: pd.DataFrame) -> plt.Figure:
    shown = table[table["family"] != "all"]
    if shown.empty:
        raise NotEnoughData("no family with both neural models")
    fig, axes = plt.subplots(1, len(CLAIMS), figsize=(6.4, 0.5 + 0.35 * shown["family"].nunique()),
                             sharey=True)
    families = sorted(shown["family"].unique())
    for ax, (metric, (label, _)) in zip(np.atleast_1d(axes), CLAIMS.items(), strict=True):
        part = shown[shown["metric"] == metric].set_index("family").reindex(families)
        y = np.arange(len(families))
        err = np.vstack([part["estimate"] - part["ci_low"], part["ci_high"] - part["estimate"]])
        ax.errorbar(part["estimate"], y, xerr=np.nan_to_num(err), fmt="o", color="0.2", capsize=2)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_yticks(y, families)
        ax.set_xlabel(f"{MLP} − {FLOW}\n{label}")
    fig.tight_layout()
    return fig


def with_pair(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the scenarios where both models of the pair ran."""
    return rows[rows.groupby("scenario")["model"].transform(lambda m: {FLOW, MLP} <= set(m))]


def analyse(rows: pd.DataFrame, params: Params) -> Section | Pending:
    pair = with_pair(rows)
    if pair.empty:
        return Section(bullets=[f"Not run: no scenario of this run has both `{FLOW}` and `{MLP}` (they need "
                                "the neural extra: pip install 'spurbench[neural]')."])
    numbers = _estimates(pair)
    phase = phase_table(pair, params)
    figures = [FigurePlan(
        "exp_neural_pair", f"`{MLP}` minus `{FLOW}` per family: drop (left) and worst-group accuracy "
        "at the largest shift (right), with 95% intervals; the claim predicts a drop difference above "
        "0 and a worst-group difference below 0.", partial(_figure, numbers[FIGURE_COLUMNS]))]

    def write(verdicts: Verdicts) -> Section:
        table = judged_estimates(numbers, verdicts)
        return Section(
            bullets=_bullets(table, phase, verdicts),
            tables=[("neural_pair", f"`{MLP}` minus `{FLOW}`, family-level and per family (drop, and "
                     "worst-group accuracy at the largest shift), with the claim book's verdict", table),
                    ("neural_pair_phase", "Phase-diagram cells: worst-group accuracy at shift "
                     f"{GROUP_SHIFT:g} of the pair and the paired gap (95% t-interval over seeds)", phase)],
            figures=figures)

    return Pending(write)


CLAIM = (
    "Published (Li, Kumar & Pathak, ICLR 2025): class-conditional deep generative classifiers rely less "
    "on spurious features than discriminative networks and lose less under shift. Pre-registered test: "
    f"`{MLP}` minus `{FLOW}`, paired over seeds, family-level estimate over every shifted scenario where "
    "both ran (largest n_train): the drop claimed above 0 and worst-group accuracy at the largest shift "
    "claimed below 0, each by at least 0.020. " + rule("the difference has the claimed sign"))


EXPERIMENT = Experiment(
    15, None, "The matched neural pair: a learned density against its discriminative twin",
    f"Does `{FLOW}` (a class-conditional autoregressive flow) degrade less than `{MLP}` (an MLP of the "
    "same capacity and training budget), and where on the phase diagram?",
    analyse, select=with_pair, claim=CLAIM)
