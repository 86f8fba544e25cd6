"""Experiment 10, the phase diagram: where does a linear generative classifier beat logistic
regression on worst-group accuracy?

Published claim (Li, Kumar & Pathak, ICLR 2025, "Generative classifiers avoid shortcut
solutions"): in their Gaussian toy analysis, whether a generative classifier beats a discriminative
one on the worst group depends on the noise of the core and of the spurious feature and on the
data's dimension against the training size; generative classifiers win in part of that map.

Pre-registered comparison, per scenario of the grid (one core and one spurious feature, majority
share 0.9, 50 training rows, core noise x spurious noise x 0 or 100 noise features): worst-group
accuracy at shift 0.5 of the logistic side (`logistic_regression`, `logistic_regression_mle`)
minus the LDA-type side (`lda_shrinkage`, `nb_shared_var`, `gaussian_nb`), each side the mean of
its models per seed, paired over seeds (the gap; below 0: the generative side ahead). A cell is
"generative clearly ahead" / "behind" by the claim book; the change with d/n is Welch's interval
between the two dimensions of a cell. Beside it, the population gap of the same two fits in closed
form (`spurbench.population`): there the logistic fit is never worse on the worst group, so any
generative advantage measured here is a finite-sample one.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from spurbench.population import population_worst_group
from spurbench.registry import GROUPS
from spurbench.report.experiments import _anchors as anchors
from spurbench.report.experiments._common import (
    GROUP_SHIFT,
    Experiment,
    FigurePlan,
    Params,
    Section,
    param,
    value_range,
)
from spurbench.report.experiments._stats import at_level, clear_signs
from spurbench.report.figures import BAND_ALPHA, NotEnoughData
from spurbench.report.reproducible import significant

GENERATIVE = ("lda_shrinkage", "nb_shared_var", "gaussian_nb")
LOGISTIC = ("logistic_regression", "logistic_regression_mle")
CELL = ["core_noise", "spurious_noise"]
SETTING = ("d_over_n", "majority_share", "n_core", "n_spurious")
POPULATION_TOLERANCE = 1e-6  # the quadrature and optimiser settle to ~1e-8
GRID_POINTS = 40  # of the population curve, log-spaced over the swept spurious noise


def with_cell(rows: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Rows with their scenario's noise levels, majority share, block sizes and d / n_train."""
    found = {key: param(rows, params, key, default) for key, default in (
        ("core_noise", np.nan), ("spurious_noise", np.nan), ("majority_share", np.nan), ("n_noise", 0),
        ("n_core", 1), ("n_spurious", 1))}
    dimension = found["n_core"] + found["n_spurious"] + found["n_noise"]
    return rows.assign(**found, d_over_n=(dimension / rows["n_train"]).round(2))


def _population(cell: pd.Series, spurious_noise: float) -> dict[str, float]:
    """The closed-form population values of `cell`'s setting (NaN when the spec leaves one unset)."""
    setting = [cell["core_noise"], spurious_noise, cell["majority_share"]]
    if not np.isfinite(np.asarray(setting, dtype=float)).all():
        return {"gap": np.nan}
    found = population_worst_group(float(cell["core_noise"]), float(spurious_noise),
                                   float(cell["majority_share"]), int(cell["n_core"]),
                                   int(cell["n_spurious"]))
    # An optimum's last digits vary between machines: rounded at the tables' precision (`reproducible`).
    return {key: significant(value) for key, value in found.items()}


def seed_gaps(middle: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and seed: the logistic minus the LDA-type side's worst-group accuracy."""
    keys = ["scenario", *CELL, *SETTING]
    gen = anchors.side(middle, "worst_group_accuracy", GENERATIVE, keys)
    disc = anchors.side(middle, "worst_group_accuracy", LOGISTIC, keys)
    sides = pd.concat([gen.rename("generative"), disc.rename("discriminative")], axis=1).dropna()
    return sides.assign(value=sides["discriminative"] - sides["generative"]).reset_index()


def gap_table(middle: pd.DataFrame, gaps: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: both sides, the gap (95% t over seeds), the population gap and the four group
    means of the panel."""
    records = []
    for scenario, cell in gaps.groupby("scenario", sort=True):
        first = cell.iloc[0]
        diff, low, high, n = anchors.paired(cell["generative"], cell["discriminative"])
        population = _population(first, first["spurious_noise"])
        records.append({"scenario": scenario, **{k: first[k] for k in (*CELL, *SETTING)},
                        "generative": cell["generative"].mean(),
                        "discriminative": cell["discriminative"].mean(),
                        "gap": diff, "ci_low": low, "ci_high": high, "n_seeds": n,
                        "population_gap": population["gap"]})
    table = pd.DataFrame(records)
    if table.empty:
        return table
    groups = anchors.group_sides(middle, "worst_group_accuracy", ["scenario"])
    if groups.empty:
        return table
    means = groups.groupby(["scenario", "group"])["value"].mean().unstack("group")
    means = means.reindex(columns=[g for g in GROUPS if g in means.columns]).add_prefix("wga_")
    return table.merge(means.reset_index(), on="scenario", how="left").sort_values(
        ["core_noise", "d_over_n", "spurious_noise"], ignore_index=True)


def _cells(part: pd.DataFrame) -> str:
    return ", ".join(f"({r.core_noise:g}, {r.spurious_noise:g})" for r in part.itertuples()) or "none"


def _where(table: pd.DataFrame) -> list[str]:
    """Per d/n: the (core noise, spurious noise) cells where the generative side is clearly ahead/behind."""
    signs = clear_signs(table, "ci_low", "ci_high", "n_seeds")
    lines = []
    for ratio, part in table.groupby("d_over_n", sort=True):
        ahead, behind = part[signs[part.index] < 0], part[signs[part.index] > 0]
        lines.append(
            f"d/n = {ratio:g}: the LDA-type side is clearly ahead on worst-group accuracy in {len(ahead)} of "
            f"{len(part)} (core noise, spurious noise) cells: {_cells(ahead)}; clearly behind in "
            f"{len(behind)}: {_cells(behind)}; gaps (logistic minus LDA-type) {value_range(part['gap'])}.")
    if table["population_gap"].isna().all():
        return [*lines, "No population gap: the scenarios do not state their noise levels and majority "
                "share."]
    widest = table.loc[table["population_gap"].idxmax()]
    sharpest = widest["spurious_noise"] == table["spurious_noise"].min()
    lines.append(
        f"The population LDA-type fit is furthest behind at spurious noise {widest['spurious_noise']:g} "
        f"(core noise {widest['core_noise']:g}, population gap {widest['population_gap']:.3f}), "
        + ("the least noisy spurious feature: sharply bimodal within a class, it is read by one Gaussian "
           "per class as ever stronger evidence (the mechanism the mixture-model section tests on the "
           "spurious scale)." if sharpest else "not at the least noisy spurious feature."))
    finite = table[(signs < 0) & (table["population_gap"] >= -POPULATION_TOLERANCE)]
    behind = int((table["population_gap"] < -POPULATION_TOLERANCE).sum())
    lines.append(
        f"Population gap (closed form) {value_range(table['population_gap'])} over these cells; the "
        f"population LDA-type fit is ahead in {behind} of them. {len(finite)} cell(s) where the LDA-type "
        "side is clearly ahead have a population gap >= 0: there its advantage is a finite-sample one.")
    return lines


def _with_dimension(gaps: pd.DataFrame) -> str:
    """Welch change of the gap from the smallest to the largest d/n, per (core, spurious) cell."""
    records = []
    for key, cell in gaps.groupby(CELL, sort=True):
        low_ratio, high_ratio = cell["d_over_n"].min(), cell["d_over_n"].max()
        if low_ratio == high_ratio:
            continue
        diff, low, high, n = anchors.welch(cell.loc[cell["d_over_n"] == high_ratio, "value"],
                                           cell.loc[cell["d_over_n"] == low_ratio, "value"])
        records.append({"core_noise": key[0], "spurious_noise": key[1], "diff": diff, "low": low,
                        "high": high, "n": n, "from": low_ratio, "to": high_ratio})
    if not records:
        return "No cell ran at two values of d/n: nothing to say about the dimension."
    table = pd.DataFrame(records)
    signs = clear_signs(table, "low", "high", "n")
    falls, rises = table[signs < 0], table[signs > 0]
    return (f"From d/n {table['from'].min():g} to {table['to'].max():g} the gap clearly falls (the LDA-type "
            f"side gains, Welch) in {len(falls)} of {len(table)} cells: {_cells(falls)}; clearly rises in "
            f"{len(rises)}: {_cells(rises)}; changes {value_range(table['diff'])}.")


def _figure(gaps: pd.DataFrame, table: pd.DataFrame) -> plt.Figure:
    if gaps.empty:
        raise NotEnoughData("no scenario ran both sides")
    cores = sorted(gaps["core_noise"].unique())
    ratios = sorted(gaps["d_over_n"].unique())
    colours = plt.get_cmap("viridis")(np.linspace(0.15, 0.75, len(ratios)))
    fig, axes = plt.subplots(1, len(cores), figsize=(3.0 * len(cores), 2.6), squeeze=False, sharey=True)
    for ax, core in zip(axes[0], cores, strict=True):
        part = anchors.bands(gaps[gaps["core_noise"] == core], ["spurious_noise", "d_over_n"])
        for ratio, colour in zip(ratios, colours, strict=True):
            line = part[part["d_over_n"] == ratio].sort_values("spurious_noise")
            ax.plot(line["spurious_noise"], line["mean"], color=colour, marker="o", markersize=3,
                    label=f"measured, d/n = {ratio:g}")
            ax.fill_between(line["spurious_noise"], line["low"], line["high"], color=colour,
                            alpha=BAND_ALPHA * 2, linewidth=0)
        first = table[table["core_noise"] == core].iloc[0]
        swept = table.loc[table["core_noise"] == core, "spurious_noise"]
        grid = [significant(s) for s in np.geomspace(swept.min() / 1.5, swept.max() * 1.5, GRID_POINTS)]
        ax.plot(grid, [_population(first, s)["gap"] for s in grid], color="0.3", linestyle=(0, (4, 2)),
                linewidth=1.0, label="population (n → ∞)")
        ax.axhline(0, color="0.6", linewidth=0.7)
        ax.set_xscale("log")
        ax.set_xticks(sorted(swept.unique()), [f"{v:g}" for v in sorted(swept.unique())])
        ax.minorticks_off()
        ax.set_title(f"core noise {core:g}")
        ax.set_xlabel("spurious-feature noise (log axis)")
    axes[0, 0].set_ylabel("worst-group gap\n(logistic − LDA-type)")
    fig.tight_layout()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def analyse(rows: pd.DataFrame, params: Params) -> Section:
    middle = at_level(with_cell(rows, params), GROUP_SHIFT)
    gaps = seed_gaps(middle)
    table = gap_table(middle, gaps)
    bullets = [*_where(table), _with_dimension(gaps)] if not table.empty else []
    return Section(
        bullets=bullets,
        tables=[("phase_diagram", f"Worst-group accuracy at shift {GROUP_SHIFT:g} per cell: LDA-type and "
                 "logistic sides, their gap (logistic minus LDA-type, 95% t-interval over seeds), the "
                 "population gap in closed form, and the panel's four group means (wga_*)", table)],
        figures=[FigurePlan(
            "exp_phase_diagram", f"Worst-group accuracy gap at shift {GROUP_SHIFT:g}, logistic regression "
            "(L2 and unregularised) minus the LDA-type models (LDA with shrinkage, shared-variance and "
            "Gaussian naive Bayes), against the spurious feature's noise (log axis), one panel per core "
            "noise, one line per dimension over training size d/n (95% t-bands over seeds); dashed: the "
            "population gap of the two linear fits. Below 0: the generative side is ahead.",
            lambda: _figure(gaps, table))])


EXPERIMENT = Experiment(
    10, "phase_diagram", "Phase diagram of the generative advantage (Li, Kumar & Pathak, 2025)",
    "Over core noise, spurious noise and dimension per training row, where do LDA-type models beat "
    "logistic regression on worst-group accuracy, and is that a population or a finite-sample effect?",
    analyse)
