"""The per-scenario and per-family figures of model groups: in each panel the four group means
with their bands and the best model of each group, never one line per model (every model's own
curve is in report.html, and the experiments draw per-model panels).

A group's value at a point is the mean over its panel models (`prepare.panel`: flagged fits
excluded) of each seed's value; its band is the 95% Student-t interval over seeds, clipped to
[0, 1]. The best model of a group is the one with the highest mean validation accuracy over the
figure's rows (the data a user would select on), named in the legend. Shift curves use each
scenario's largest n_train; scenarios and families are in natural order (numbers sort as numbers).
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from scipy import stats
from spurbench.evaluation import metrics
from spurbench.registry import GROUPS
from spurbench.report import style
from spurbench.report.figures import (
    GRID_PANEL_WIDTH,
    TITLE_MARGIN,
    NotEnoughData,
    _probit_axes,
    best_of_groups,
    curve_summary,
    group_handles,
    grouped_models,
    label_outer,
    legend_below,
    natural_families,
    natural_scenarios,
    panel_grid,
    spaced,
)
from spurbench.report.prepare import (
    at_largest_n_train,
    at_largest_shift,
    panel,
    robustness_against_panel,
    usable,
    with_shift_levels,
)
from spurbench.report.summaries import common_levels

GROUP_BAND_ALPHA = 0.18


def _scenario_rows(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of the scenarios where `metric` was measured at all."""
    measured = frame.groupby("scenario")[metric].transform(lambda v: v.notna().any())
    rows = frame[measured]
    if rows.empty:
        raise NotEnoughData(f"no scenario has a value of {metric}")
    return rows


def _group_curves(rows: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str, log_x: bool = False,
                  baselines: tuple[str, ...] = (), y_range: str = "full") -> plt.Figure:
    """One panel per scenario: the mean of each model group (panel models, flagged fits excluded;
    band: 95% t over seeds of the group's mean), the group's best model on validation accuracy
    (over the figure's rows) as a thin starred line, and the `baselines` columns as grey lines.
    The y axis (`y_range`) is "full" [0, 1], "zero" from 0 to the data's top, or "data" the
    data's span; never beyond [0, 1]."""
    members = panel(rows)
    members = members[np.isfinite(members[y])]
    if members.empty:
        raise NotEnoughData(f"no panel model has a value of {y}")
    scenarios = natural_scenarios(members)
    per_seed = members.groupby(["scenario", "group", "seed", x], as_index=False)[y].mean()
    curves = dict(tuple(curve_summary(per_seed.rename(columns={"group": "model"}), x, y).groupby(
        ["scenario", "model"])))
    best = best_of_groups(members)
    own = dict(tuple(curve_summary(members[members["model"].isin(best.values())], x, y).groupby(
        ["scenario", "model"])))
    fig, axes = panel_grid(len(scenarios))
    for ax, scenario in zip(axes.flat, scenarios, strict=False):
        part = rows[rows["scenario"] == scenario]
        for column in baselines:
            line = part.groupby(x)[column].mean().dropna()
            ax.plot(line.index, line.to_numpy(), color="0.35", linestyle=style.BASELINE_LOOK[column][1],
                    linewidth=0.9)
        for group in GROUPS:
            if (scenario, group) not in curves:
                continue
            line, colour = curves[(scenario, group)], style.group_colour(group)
            ax.fill_between(line[x], line["low"], line["high"], color=colour, alpha=GROUP_BAND_ALPHA,
                            linewidth=0)
            ax.plot(line[x], line["mean"], color=colour, linestyle=style.group_linestyle(group),
                    linewidth=1.6)
            if (scenario, best.get(group)) in own:
                line = own[(scenario, best[group])]
                ax.plot(line[x], line["mean"], color=colour, **style.BEST_LOOK)
        ax.set_title(style.wrapped(scenario, GRID_PANEL_WIDTH - TITLE_MARGIN))
        low, high = ax.get_ylim()
        ax.set_ylim(*{"full": (0, 1), "zero": (0, min(1.0, max(high, 0.05))),
                      "data": (max(0.0, low), min(1.0, high))}[y_range])
        if log_x:
            ax.set_xscale("log")
            ticks = spaced(part[x].unique(), GRID_PANEL_WIDTH)
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
            ax.xaxis.set_minor_locator(NullLocator())
    label_outer(axes, len(scenarios), xlabel, ylabel)
    handles, labels = group_handles(best)
    for column in baselines:
        handles.append(Line2D([], [], color="0.35", linestyle=style.BASELINE_LOOK[column][1], linewidth=0.9))
        labels.append(style.BASELINE_LOOK[column][0])
    legend_below(fig, handles, labels)
    return fig


def _shift_curves(frame: pd.DataFrame, metric: str, ylabel: str, **options: object) -> plt.Figure:
    rows = with_shift_levels(at_largest_n_train(frame))
    if rows.empty:
        raise NotEnoughData("no scenario lists more than one shift level")
    return _group_curves(_scenario_rows(rows, metric), "shift", metric, "shift level", ylabel, **options)


def degradation_accuracy(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "accuracy", "accuracy", baselines=tuple(style.BASELINE_LOOK))


def degradation_worst_group(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "worst_group_accuracy", "worst-group accuracy")


def spurious_reliance(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "spurious_reliance", "spurious flip rate", y_range="zero")


def calibration(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "ece", "ECE (15 bins)", y_range="zero")


def _learning_curves(frame: pd.DataFrame, largest_shift: bool) -> plt.Figure:
    rows = usable(frame)
    rows = at_largest_shift(with_shift_levels(rows)) if largest_shift else rows[rows["shift"] == 0]
    rows = rows[rows.groupby("scenario")["n_train"].transform("nunique") > 1]
    if rows.empty:
        raise NotEnoughData("every scenario has a single n_train")
    return _group_curves(rows, "n_train", "accuracy", "training size", "accuracy", log_x=True,
                         y_range="data")


def learning_curves_id(frame: pd.DataFrame) -> plt.Figure:
    return _learning_curves(frame, largest_shift=False)


def learning_curves_shifted(frame: pd.DataFrame) -> plt.Figure:
    return _learning_curves(frame, largest_shift=True)


ROBUSTNESS_COLUMNS = 6  # a grid of families, narrower panels than a scenario grid's
ROBUSTNESS_PANEL = 1.45


def effective_robustness(frame: pd.DataFrame) -> plt.Figure:
    """In-distribution vs largest-shift accuracy on probit axes, one panel per family: per
    scenario, each group's mean over its panel models (one point), the family's best model of
    each group on validation accuracy (star), and the line fitted through the scenario's panel
    fits (`prepare.robustness_against_panel`, the line every robustness table uses)."""
    rows = at_largest_n_train(usable(frame))
    points = robustness_against_panel(rows)
    members = panel(rows)
    points = points.merge(members[["scenario", "model", "family", "group"]].drop_duplicates())
    points = points[points["group"].isin(GROUPS)]
    if points.empty:
        raise NotEnoughData("no scenario has a shifted level")
    families = natural_families(points)
    fig, axes = panel_grid(len(families), ROBUSTNESS_PANEL, ROBUSTNESS_PANEL + 0.1, ROBUSTNESS_COLUMNS)
    for ax, family in zip(axes.flat, families, strict=False):
        cell = points[points["family"] == family]
        means = cell.groupby(["group", "scenario"])[["in_distribution", "shifted"]].mean()
        best = best_of_groups(members[members["family"] == family])
        stars = cell[cell["model"].isin(best.values())]
        low, high = pd.concat([means, stars[["in_distribution", "shifted"]]]).stack().agg(["min", "max"])
        _probit_axes(ax, low, high, max_ticks=3)
        ax.plot([low, high], [low, high], color="0.6", linestyle=":", linewidth=0.8)
        for _, fit in cell.groupby("scenario", sort=True):
            slope, intercept = fit[["slope", "intercept"]].iloc[0]
            if np.isfinite(slope):
                xs = np.linspace(fit["in_distribution"].min(), fit["in_distribution"].max(), 20)
                ax.plot(xs, stats.norm.cdf(intercept + slope * metrics.probit(xs)), color="0.45",
                        linewidth=0.7)
        for group in GROUPS:
            if group in means.index.get_level_values("group"):
                mine = means.loc[group]
                ax.scatter(mine["in_distribution"], mine["shifted"], s=16, color=style.group_colour(group),
                           marker=style.GROUP_MARKERS[group], linewidths=0)
            if group in best:
                own = stars[stars["model"] == best[group]]
                ax.scatter(own["in_distribution"], own["shifted"], s=40, marker="*", linewidths=0.4,
                           color=style.group_colour(group), edgecolors="0.2")
        ax.set_title(style.wrapped(family, ROBUSTNESS_PANEL - TITLE_MARGIN))
    label_outer(axes, len(families), "accuracy at shift 0", "at largest shift", ROBUSTNESS_PANEL + 0.1)
    handles = [Line2D([], [], linestyle="none", color=style.group_colour(g), marker=style.GROUP_MARKERS[g])
               for g in GROUPS]
    labels = [f"{g.replace('_', ' ')} (mean)" for g in GROUPS]
    handles += [Line2D([], [], linestyle="none", color="0.5", marker="*", markersize=7),
                Line2D([], [], color="0.45", linewidth=0.7), Line2D([], [], color="0.6", linestyle=":")]
    labels += ["best of group in the family (chosen on validation)", "line through the panel",
               "no degradation"]
    legend_below(fig, handles, labels)
    return fig


MEMBER_SHADES = (0.45, 0.95)  # of the group's colour map, from its first model to its last
MEMBERS_PANEL = (1.9, 1.45)  # inches, width and height of a panel of `models_by_group`


def models_by_group(frame: pd.DataFrame) -> plt.Figure:
    """Every panel model on its own line, a row of four panels (one per group) per family:
    accuracy versus shift, the mean over the family's scenarios of the mean over seeds, on the
    levels every scenario of the family lists (as the main figure); grey dashes: the Bayes oracle.
    A group holds at most a handful of panel models, so no panel draws more than about 8 lines."""
    rows = common_levels(with_shift_levels(panel(at_largest_n_train(usable(frame)))))
    if rows.empty or rows["shift"].nunique() < 2:
        raise NotEnoughData("no family has a shifted level shared by all its scenarios")
    curves = rows.groupby(["family", "model", "scenario", "shift"])["accuracy"].mean().groupby(
        ["family", "model", "shift"]).mean()
    oracle = rows.groupby(["family", "scenario", "shift"])["bayes_accuracy"].mean().groupby(
        ["family", "shift"]).mean().dropna()
    families, models = natural_families(rows), grouped_models(rows)
    group_of = dict(rows[["model", "group"]].drop_duplicates().itertuples(index=False))
    fig, axes = panel_grid(len(families) * len(GROUPS), *MEMBERS_PANEL, columns=len(GROUPS))
    for row, family in enumerate(families):
        for column, group in enumerate(GROUPS):
            ax = axes[row, column]
            members = [m for m in models if group_of[m] == group]
            shades = np.linspace(*MEMBER_SHADES, num=max(len(members), 1))
            if family in oracle.index.get_level_values("family"):
                ax.plot(oracle.loc[family], color="0.55", linestyle=(0, (5, 2)), linewidth=0.9)
            for i, model in enumerate(members):
                if (family, model) in curves.index.droplevel("shift"):
                    line = curves.loc[(family, model)]
                    ax.plot(line.index, line.to_numpy(), **_member_look(group, i, shades))
            ax.set_ylim(0, 1)
            ax.set_title(group.replace("_", " ") if row == 0 else "")
            ax.set_ylabel(style.wrapped(family, MEMBERS_PANEL[1] - TITLE_MARGIN) if column == 0 else "")
            ax.set_xlabel("shift level" if row == len(families) - 1 else "")
    # One legend column per group (shorter groups padded with blank entries), under its panels.
    depth = max(sum(group_of[m] == g for m in models) for g in GROUPS)
    handles, labels = [], []
    for group in GROUPS:
        members = [m for m in models if group_of[m] == group]
        shades = np.linspace(*MEMBER_SHADES, num=max(len(members), 1))
        handles += [Line2D([], [], **_member_look(group, i, shades)) for i in range(len(members))]
        handles += [Line2D([], [], linestyle="none")] * (depth - len(members))
        labels += members + [""] * (depth - len(members))
    legend_below(fig, handles, labels, ncols=len(GROUPS))
    return fig


def _member_look(group: str, i: int, shades: np.ndarray) -> dict:
    """The `i`-th model of `group`: a shade of the group's colour, its own marker, the group's dashes."""
    return {"color": mpl.colormaps[style.GROUP_LOOK[group][0]](shades[i]),
            "linestyle": style.group_linestyle(group), "marker": style.MARKERS[i % len(style.MARKERS)]}
