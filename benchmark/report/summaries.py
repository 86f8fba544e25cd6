"""Summary figures: the four group means (the main figure), the paradigm drop, and the forest plot.

Every point along a shift axis averages over the same scenarios: a family's panel keeps only the
shift levels that every one of its scenarios lists (no interpolation), so adding a scenario with
extra levels cannot make a curve kink. Group and paradigm values read the panel rows of
`prepare.panel` (flagged fits excluded) at each scenario's largest n_train; one unit of a band is a
seed (its mean over the family's scenarios), 95% Student-t; accuracy bands stay within [0, 1] and
drop bands within [-1, 1]. Families are panels (or, in the forest plot, rows) in natural order, on
page-width grids (`figures.panel_grid`) with the legend under them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from spurbench.evaluation import metrics
from spurbench.registry import GROUPS
from spurbench.report import analysis, style
from spurbench.report.figures import (
    GRID_PANEL_WIDTH,
    TITLE_MARGIN,
    NotEnoughData,
    label_outer,
    legend_below,
    natural_families,
    panel_grid,
)
from spurbench.report.prepare import at_largest_n_train, panel, t_interval, usable, with_shift_levels
from spurbench.report.style import BASELINE_LOOK, GROUP_LOOK, group_colour


def common_levels(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows at the shift levels that every scenario of their family lists."""
    levels = rows.groupby(["family", "scenario"])["shift"].agg(frozenset)
    shared = {family: frozenset.intersection(*sets) for family, sets in levels.groupby(level="family")}
    return rows[[s in shared[f] for f, s in zip(rows["family"], rows["shift"], strict=True)]]


def _band(values: pd.Series) -> pd.Series:
    low, high = t_interval(values)
    return pd.Series({"mean": values.mean(), "low": low, "high": high})


def _family_curves(rows: pd.DataFrame, by: str, value: str) -> pd.DataFrame:
    """Per (family, `by`, shift): mean over seeds of the seed's mean over scenarios, with its band."""
    per_scenario = rows.groupby(["family", "scenario", "seed", "shift", by])[value].mean()
    per_seed = per_scenario.groupby(["family", "seed", "shift", by]).mean()
    curves = per_seed.groupby(["family", by, "shift"]).apply(_band).unstack().reset_index()
    if value == "accuracy" and not per_seed.empty:  # a few-seed band must not pass what an accuracy can be
        curves[["low", "high"]] = curves[["low", "high"]].clip(0, 1)
    return curves


def _axes(n_panels: int) -> tuple[plt.Figure, np.ndarray]:
    if not n_panels:
        raise NotEnoughData("no family has a curve to draw")
    return panel_grid(n_panels)


def _title(family: str, n_scenarios: int | None = None) -> str:
    # A no-break space keeps the count on one line.
    count = "" if n_scenarios is None else f" ({n_scenarios}\u00a0scenario{'s' * (n_scenarios > 1)})"
    text = family + count
    return style.wrapped(text, GRID_PANEL_WIDTH - TITLE_MARGIN)


def _summary_rows(frame: pd.DataFrame) -> pd.DataFrame:
    rows = common_levels(with_shift_levels(panel(at_largest_n_train(usable(frame)))))
    if rows.empty or rows["shift"].nunique() < 2:
        raise NotEnoughData("no family has a shifted level shared by all its scenarios")
    return rows


def _best_of_groups(rows: pd.DataFrame) -> dict[tuple[str, str], str]:
    """Per (family, group): the model with the highest mean validation accuracy over the family."""
    val = rows.groupby(["family", "group", "model"])["val_accuracy"].mean().dropna()
    return {key: str(part.droplevel([0, 1]).sort_index().idxmax())
            for key, part in val.groupby(level=["family", "group"])}


def group_summary(frame: pd.DataFrame) -> plt.Figure:
    """Accuracy versus shift per family: four group means with bands, the validation-chosen best
    model of each group (thin line, named in the legend of its panel), oracles and majority rate."""
    rows = _summary_rows(frame)
    curves = _family_curves(rows, "group", "accuracy")
    best = _best_of_groups(rows)
    families = natural_families(curves)
    fig, axes = _axes(len(families))
    for ax, family in zip(axes.flat, families, strict=False):
        part = rows[rows["family"] == family]
        for column, (_, dash) in BASELINE_LOOK.items():
            line = part.groupby(["scenario", "shift"])[column].mean().groupby("shift").mean().dropna()
            ax.plot(line.index, line.to_numpy(), color="0.35", linestyle=dash, linewidth=0.9)
        for group in GROUPS:
            line = curves[(curves["family"] == family) & (curves["group"] == group)]
            if line.empty:
                continue
            colour, dash = group_colour(group), GROUP_LOOK[group][2]
            ax.plot(line["shift"], line["mean"], color=colour, linestyle="-" if dash == "" else (0, dash),
                    linewidth=1.8, marker="o", markersize=2.5)
            ax.fill_between(line["shift"], line["low"], line["high"], color=colour, alpha=0.18, linewidth=0)
            model = best.get((family, group))
            if model is not None:
                own = part[part["model"] == model].groupby(["scenario", "shift"])["accuracy"].mean()
                own = own.groupby("shift").mean()
                ax.plot(own.index, own.to_numpy(), color=colour, linewidth=0.8, marker="*", markersize=4)
        ax.set_title(_title(family, part["scenario"].nunique()))
        ax.set_ylim(0, 1)
    label_outer(axes, len(families), "shift level", "accuracy")
    _group_legend(fig)
    return fig


def _group_legend(fig: plt.Figure) -> None:
    handles = [Line2D([], [], color=group_colour(g), linewidth=1.8,
                      linestyle="-" if GROUP_LOOK[g][2] == "" else (0, GROUP_LOOK[g][2])) for g in GROUPS]
    labels = [g.replace("_", " ") for g in GROUPS]
    handles.append(Line2D([], [], color="0.3", linewidth=0.8, marker="*", markersize=4))
    labels.append("best of group (chosen on validation)")
    for label, dash in BASELINE_LOOK.values():
        handles.append(Line2D([], [], color="0.35", linestyle=dash, linewidth=0.9))
        labels.append(label)
    legend_below(fig, handles, labels)


def paradigm_summary(frame: pd.DataFrame) -> plt.Figure:
    """Mean accuracy drop from shift 0 per paradigm and family, on levels all its scenarios share."""
    rows = _summary_rows(frame)
    rows = rows.assign(drop=metrics.degradation(rows))
    rows = rows[rows["shift"] > 0].dropna(subset=["drop"])
    if rows["paradigm"].nunique() < 2:
        raise NotEnoughData("needs both paradigms and at least one shifted level")
    curves = _family_curves(rows, "paradigm", "drop")
    curves[["low", "high"]] = curves[["low", "high"]].clip(-1, 1)  # a drop lies within [-1, 1]
    families = natural_families(curves)
    fig, axes = _axes(len(families))
    for ax, family in zip(axes.flat, families, strict=False):
        for paradigm in ("generative", "discriminative"):
            line = curves[(curves["family"] == family) & (curves["paradigm"] == paradigm)]
            colour, dash = style.paradigm_colour(paradigm), style.DASHES[paradigm]
            ax.plot(line["shift"], line["mean"], color=colour, marker="o", markersize=2.5,
                    linestyle="-" if dash == "" else (0, dash))
            ax.fill_between(line["shift"], line["low"], line["high"], color=colour, alpha=0.2, linewidth=0)
        ax.set_title(_title(family))
    label_outer(axes, len(families), "shift level", "drop from shift 0")
    handles = [Line2D([], [], color=style.paradigm_colour(p), marker="o", markersize=2.5,
                      linestyle="-" if style.DASHES[p] == "" else (0, style.DASHES[p]))
               for p in ("generative", "discriminative")]
    legend_below(fig, handles, ["generative", "discriminative"])
    return fig


def _family_gaps(gaps: pd.DataFrame) -> pd.DataFrame:
    """Per family (natural order): the mean of its scenarios' gaps (`analysis.family_means`, the
    family-level estimate's units) with a 95% t-interval over its scenarios, or over seeds for a
    family of one scenario."""
    records = []
    for family in natural_families(gaps):
        part = gaps[gaps["family"] == family]
        low, high = t_interval(part["difference"]) if len(part) > 1 else part[["ci_low", "ci_high"]].iloc[0]
        records.append({"family": family, "difference": part["difference"].mean(), "ci_low": low,
                        "ci_high": high, "n_scenarios": len(part)})
    return pd.DataFrame(records)


def forest(frame: pd.DataFrame) -> plt.Figure:
    """Per family, the paradigm gap in drop (mean over its scenarios, 95% t-interval; each
    scenario's mean over seeds as a grey dot) and, at the bottom, the family-level estimate (or
    its stated fallback). One row per family keeps the figure a page long however many
    scenarios a family sweeps; the per-scenario gaps are in the tables."""
    diffs = analysis.paradigm_drop_differences(frame)
    gaps = analysis.scenario_gaps(diffs)
    if gaps.empty:
        raise NotEnoughData("no scenario has both paradigms and a shifted level")
    overall = analysis.family_estimate(diffs)
    rows = _family_gaps(gaps)
    position = {family: i for i, family in enumerate(rows["family"])}
    fig, ax = plt.subplots(figsize=(5.2, 0.9 + 0.2 * (len(rows) + 2)))
    ax.plot(100 * gaps["difference"], gaps["family"].map(position), linestyle="none", marker="o",
            markersize=2.2, color="0.7")
    y = np.arange(len(rows))
    ax.errorbar(100 * rows["difference"], y, xerr=100 * np.abs(rows[["ci_low", "ci_high"]].to_numpy(float).T
                                                               - rows["difference"].to_numpy(float)),
                fmt="o", color="0.2", markersize=3, elinewidth=0.9, capsize=0)
    bottom = len(rows) + 0.5
    if np.isfinite(overall["ci_low"]):
        ax.fill([100 * overall["ci_low"], 100 * overall["estimate"], 100 * overall["ci_high"],
                 100 * overall["estimate"]], [bottom, bottom - 0.35, bottom, bottom + 0.35], color="black")
    else:
        ax.plot(100 * overall["estimate"], bottom, marker="D", color="black")
    ax.axvline(0, color="0.6", linewidth=0.8)
    labels = [f"{r.family} ({r.n_scenarios})" for r in rows.itertuples()]
    ax.set_yticks([*y, bottom], [*labels, f"family-level estimate ({overall['method'].split(' (')[0]})"])
    ax.invert_yaxis()
    ax.set_xlabel("discriminative minus generative drop (accuracy points)")
    ax.grid(axis="y", visible=False)
    return fig
