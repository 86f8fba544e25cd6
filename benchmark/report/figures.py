"""The report's figures: each builder takes the run's rows and returns a matplotlib Figure.

A builder raises `NotEnoughData` (with the reason) when the run cannot support its figure, e.g.
a single n_train means no learning curve; the report then lists the figure as skipped. Every
figure is drawn under the checked-in style (`style.STYLE`). Shift curves and shift summaries use
each scenario's largest n_train; error bars and bands are 95% Student-t intervals over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import PolyCollection
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from scipy import special, stats
from spurbench import metrics
from spurbench.report import style
from spurbench.report.prepare import (
    at_largest_n_train,
    at_largest_shift,
    model_order,
    paradigms,
    robustness_against_panel,
    scenario_order,
    t_interval,
    usable,
    with_oracle_references,
    with_shift_levels,
)

MAX_COLUMNS = 5
PANEL_HEIGHT = 2.1
PANEL_ASPECT = 1.25
BAND_ALPHA = 0.07


# Log-axis tick labels (`spaced`), in whole points at the style's 8-point tick labels: a digit of
# DejaVu Sans is 5.1 points wide (rounded up), and neighbouring labels keep a blank between them.
TICK_DIGIT_POINTS = 6
TICK_GAP_POINTS = 8
AXIS_SHARE = 0.7  # of a panel's width, the least its data span takes (y tick labels, margins aside)


class NotEnoughData(Exception):
    """The run's rows cannot support a figure; the message says why."""


class _Grid(sns.FacetGrid):
    """A FacetGrid laid out once, by `laid_out`, once its panels are drawn and labelled: seaborn
    lays a grid out (a full text-layout pass) when it is built and again after each map, which
    took two fifths of the time to build a figure."""

    def tight_layout(self, *args: object, **kwargs: object) -> _Grid:
        return self

    def laid_out(self) -> plt.Figure:
        # seaborn passes the whole figure as `rect`, with which matplotlib measures every panel
        # twice to find the same margins; without it, once (the grid has no seaborn legend that
        # would narrow the rect).
        self.figure.tight_layout()
        return self.figure


def spaced(values: Sequence[float], panel_inches: float) -> list[float]:
    """Tick values for a log axis, chosen from the data's own `values`: from the largest down, a
    value is kept when its label clears the last kept label by `TICK_GAP_POINTS` on a panel
    `panel_inches` wide; sorted ascending.

    Every comparison is between integers (positions in thousandths of a decade, widths in whole
    points), so no float tie decided by a machine's last bit picks a tick.
    """
    values = sorted(set(values), reverse=True)
    position = {v: round(1000 * math.log10(v)) for v in values}
    decades = max(position[values[0]] - position[values[-1]], 1)
    span = int(panel_inches * 72 * AXIS_SHARE)
    kept: list[float] = []
    for v in values:
        # Twice the distance between the label centres against the sum of the widths plus twice the
        # gap, both multiplied by `decades` (the axis spans that many thousandths of a decade).
        if kept and 2 * (position[kept[-1]] - position[v]) * span < decades * (
                (len(f"{kept[-1]:g}") + len(f"{v:g}")) * TICK_DIGIT_POINTS + 2 * TICK_GAP_POINTS):
            continue
        kept.append(v)
    return kept[::-1]


def rate_interval(values: pd.Series) -> tuple[float, float]:
    """`t_interval` clipped to [0, 1], the range of every plotted rate (with 2 seeds t is 12.7)."""
    return tuple(float(v) for v in np.clip(t_interval(values), 0, 1))


def _scenario_rows(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of the scenarios where `metric` was measured at all."""
    measured = frame.groupby("scenario")[metric].transform(lambda v: v.notna().any())
    rows = frame[measured]
    if rows.empty:
        raise NotEnoughData(f"no scenario has a value of {metric}")
    return rows


def curve_summary(rows: pd.DataFrame, x: str, y: str, panels: Sequence[str] = ("scenario",),
                  level: float = 0.95) -> pd.DataFrame:
    """Mean of `y` over seeds per (panel, model, x) with its Student-t interval clipped to [0, 1]
    (`rate_interval`'s), a panel being a combination of the `panels` columns.

    Vectorised (one groupby) rather than a callable error bar per line: seaborn calls those one
    group at a time, which made the report take most of a quick run's time. A single seed gives a
    point interval, as `t_interval` does.
    """
    valid = rows[np.isfinite(rows[y])]
    summary = valid.groupby([*panels, "model", x], sort=True)[y].agg(["mean", "std", "count"])
    summary = summary.reset_index()
    dof = (summary["count"] - 1).clip(lower=1)
    half = stats.t.ppf(0.5 + level / 2, dof) * summary["std"] / np.sqrt(summary["count"])
    half = half.where(summary["count"] > 1, 0.0)
    summary["low"] = (summary["mean"] - half).clip(0, 1)
    summary["high"] = (summary["mean"] + half).clip(0, 1)
    return summary


def band(line: pd.DataFrame, x: str) -> np.ndarray:
    """The polygon between a line's `low` and `high` columns over `x` (as `fill_between`'s)."""
    xs, low, high = (line[column].to_numpy(float) for column in (x, "low", "high"))
    return np.column_stack([np.r_[xs, xs[::-1]], np.r_[high, low[::-1]]])


def model_lines(summary: pd.DataFrame, x: str, models: list[str], look: dict[str, dict],
                **facets: object) -> _Grid:
    """A grid of panels (`facets` as seaborn's FacetGrid takes them) of `curve_summary` rows: in
    each, one line per model of `models` through its means over `x`, in `look`'s colour, dashes
    and marker, and every model's band beneath the lines. Not laid out yet (`_Grid.laid_out`)."""
    grid = _Grid(summary, **facets)

    def draw_panel(data: pd.DataFrame, **_: object) -> None:
        ax = plt.gca()
        lines = dict(tuple(data.groupby("model", sort=False)))
        drawn = [model for model in models if model in lines]
        for model in drawn:
            line, dash = lines[model], look["dashes"][model]
            ax.plot(line[x], line["mean"], color=look["palette"][model], marker=look["markers"][model],
                    linestyle="-" if dash == "" else (0, dash), label=model)
        # Every model's band in one collection (as fill_between draws them, beneath the lines):
        # a fill_between per line was a third of the time to build a figure.
        ax.add_collection(PolyCollection([band(lines[model], x) for model in drawn],
                                         facecolors=[look["palette"][model] for model in drawn],
                                         alpha=BAND_ALPHA, linewidths=0))

    grid.map_dataframe(draw_panel)
    return grid


def _model_curves(rows: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str,
                  log_x: bool = False) -> plt.Figure:
    """One panel per scenario, one line per model (mean over seeds, 95% t band), legend outside."""
    models = model_order(rows)
    look = style.model_styles(models, paradigms(rows))
    scenarios = scenario_order(rows)
    # Tall enough panels that the one-column legend (a heading per paradigm) is never taller than
    # the grid: a family with one scenario gets one large panel instead of a legend that dwarfs it.
    n_rows = -(-len(scenarios) // MAX_COLUMNS)
    entries = len(models) + len(set(paradigms(rows).values()))
    height = max(PANEL_HEIGHT, style.legend_height(entries) / n_rows)
    aspect = max(1.0, PANEL_ASPECT * PANEL_HEIGHT / height)
    grid = model_lines(curve_summary(rows, x, y), x, models, look, col="scenario", col_order=scenarios,
                       col_wrap=min(MAX_COLUMNS, len(scenarios)), height=height, aspect=aspect,
                       sharey=False, sharex=True,
                       subplot_kws={"xscale": "log" if log_x else "linear"})
    grid.set_titles("{col_name}")
    grid.set_axis_labels(xlabel, ylabel)
    if log_x:
        ticks = spaced(rows[x].unique(), height * aspect)
        for ax in grid.axes.flat:
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
            ax.xaxis.set_minor_locator(NullLocator())
    style.add_model_legend(grid.laid_out(), models, paradigms(rows), look)
    return grid.figure


def _shift_curves(frame: pd.DataFrame, metric: str, ylabel: str) -> plt.Figure:
    rows = with_shift_levels(at_largest_n_train(frame))
    if rows.empty:
        raise NotEnoughData("no scenario lists more than one shift level")
    return _model_curves(_scenario_rows(rows, metric), "shift", metric, "shift level", ylabel)


def _majority_lines(fig: plt.Figure, rows: pd.DataFrame) -> None:
    """The majority-class rate (mean over seeds) as a black dotted line in each scenario's panel."""
    rate = rows.groupby(["scenario", "shift"])["majority_accuracy"].mean().dropna()
    for ax in fig.axes:
        title = ax.get_title()
        if title in rate.index.get_level_values("scenario"):
            line = rate.loc[title]
            ax.plot(line.index, line.to_numpy(), color="black", linestyle=":", linewidth=0.9)


def degradation_accuracy(frame: pd.DataFrame) -> plt.Figure:
    fig = _shift_curves(with_oracle_references(usable(frame)), "accuracy", "accuracy")
    _majority_lines(fig, at_largest_n_train(usable(frame)))
    return fig


def degradation_worst_group(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "worst_group_accuracy", "worst-group accuracy")


def spurious_reliance(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "spurious_reliance", "spurious flip rate")


def calibration(frame: pd.DataFrame) -> plt.Figure:
    return _shift_curves(usable(frame), "ece", "ECE (15 bins)")


def _learning_curves(frame: pd.DataFrame, largest_shift: bool) -> plt.Figure:
    rows = usable(frame)
    rows = at_largest_shift(with_shift_levels(rows)) if largest_shift else rows[rows["shift"] == 0]
    rows = rows[rows.groupby("scenario")["n_train"].transform("nunique") > 1]
    if rows.empty:
        raise NotEnoughData("every scenario has a single n_train")
    return _model_curves(rows, "n_train", "accuracy", "training size", "accuracy", log_x=True)


def learning_curves_id(frame: pd.DataFrame) -> plt.Figure:
    return _learning_curves(frame, largest_shift=False)


def learning_curves_shifted(frame: pd.DataFrame) -> plt.Figure:
    return _learning_curves(frame, largest_shift=True)


PROBIT_TICKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99,
                0.995, 0.999)
MAX_PROBIT_TICKS = 5


def _probit_axes(ax: plt.Axes, low: float, high: float) -> None:
    """Probit scale on both axes over [low, high] (plus a margin), at most `MAX_PROBIT_TICKS` ticks.

    Both axes share the range so the no-degradation diagonal is the square's diagonal; ticks are
    picked from `PROBIT_TICKS` at least a fifth of the range apart in probit units, so they never
    collide however wide the range is.
    """
    lo, hi = metrics.probit([low, high])
    margin = 0.08 * max(hi - lo, 0.2)
    limits = stats.norm.cdf([lo - margin, hi + margin])
    spacing = (hi - lo + 2 * margin) / MAX_PROBIT_TICKS
    # Which ticks show is decided on values rounded to millionths, so no last bit decides a tie.
    ticks = []
    for tick in PROBIT_TICKS:
        if round(limits[0], 6) <= tick <= round(limits[1], 6) and (not ticks or round(
                metrics.probit(tick) - metrics.probit(ticks[-1]), 6) >= round(spacing, 6)):
            ticks.append(tick)
    for set_scale, set_lim, axis in ((ax.set_xscale, ax.set_xlim, ax.xaxis),
                                     (ax.set_yscale, ax.set_ylim, ax.yaxis)):
        set_scale("function", functions=(metrics.probit, special.ndtr))  # ndtr: norm.cdf, unchecked
        set_lim(*limits)
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        axis.set_minor_locator(NullLocator())


def effective_robustness(frame: pd.DataFrame) -> plt.Figure:
    """In-distribution vs largest-shift accuracy on probit axes, with the learners' fitted line."""
    points = robustness_against_panel(with_oracle_references(usable(frame)))
    if points.empty:
        raise NotEnoughData("no scenario has a shifted level")
    models = model_order(points)
    look = style.model_styles(models, paradigms(points))
    scenarios = scenario_order(points.merge(frame[["scenario", "family"]].drop_duplicates()))
    grid = _Grid(points, col="scenario", col_order=scenarios,
                         col_wrap=min(MAX_COLUMNS, len(scenarios)), sharex=False, sharey=False,
                         height=PANEL_HEIGHT, aspect=1.0)
    grid.map_dataframe(sns.scatterplot, x="in_distribution", y="shifted", hue="model",
                       hue_order=models, style="model", style_order=models, palette=look["palette"],
                       markers=look["markers"], s=22, edgecolor="none", legend=False)
    for scenario, ax in grid.axes_dict.items():
        cell = points[points["scenario"] == scenario]
        low, high = cell[["in_distribution", "shifted"]].stack().agg(["min", "max"])
        _probit_axes(ax, low, high)
        ax.plot([low, high], [low, high], color="0.75", linestyle=":", linewidth=0.8)
        slope, intercept = cell[["slope", "intercept"]].iloc[0]
        if np.isfinite(slope):
            fitted = cell.loc[cell["paradigm"] != "oracle", "in_distribution"]
            xs = np.linspace(fitted.min(), fitted.max(), 50)
            ax.plot(xs, stats.norm.cdf(intercept + slope * metrics.probit(xs)), color="0.3",
                    linewidth=1.0)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("accuracy at shift 0", "accuracy at largest shift")
    style.add_model_legend(grid.laid_out(), models, paradigms(points), look, lines=False)
    return grid.figure


def _heatmap(matrix: pd.DataFrame, paradigm_of: dict[str, str], label: str) -> plt.Figure:
    """Models (rows, labels coloured by paradigm) x scenarios, annotated with the cell values."""
    fig, ax = plt.subplots(figsize=(1.2 + 0.62 * matrix.shape[1], 1.0 + 0.3 * matrix.shape[0]))
    sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", annot_kws={"fontsize": 6.5}, cmap="viridis",
                linewidths=0.5, linecolor="white", cbar_kws={"label": label, "shrink": 0.6})
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.grid(False)
    ax.tick_params(axis="x", labelrotation=40)
    plt.setp(ax.get_xticklabels(), ha="right", rotation_mode="anchor")
    for tick in ax.get_yticklabels():
        tick.set_color(style.paradigm_colour(paradigm_of[tick.get_text()]))
    return fig


def _model_by_scenario(values: pd.DataFrame, column: str) -> pd.DataFrame:
    values = values.dropna(subset=[column])
    if values.empty:
        raise NotEnoughData(f"no value of {column}")
    matrix = values.pivot_table(index="model", columns="scenario", values=column, aggfunc="mean")
    return matrix.reindex(index=model_order(values),
                          columns=[s for s in scenario_order(values) if s in matrix.columns])


def auc_heatmap(frame: pd.DataFrame) -> plt.Figure:
    """Normalised area under accuracy-vs-shift, mean over seeds, per model and scenario."""
    rows = at_largest_n_train(with_oracle_references(usable(frame)))
    auc = metrics.normalised_auc(rows).merge(rows[["scenario", "family"]].drop_duplicates())
    matrix = _model_by_scenario(auc, "accuracy_nauc")
    return _heatmap(matrix, paradigms(auc), "normalised area under accuracy vs shift")


def spurious_importance(frame: pd.DataFrame) -> plt.Figure:
    """Share of feature importance on spurious features, mean over shifts and seeds."""
    rows = at_largest_n_train(usable(frame))
    matrix = _model_by_scenario(rows, "spurious_importance")
    return _heatmap(matrix, paradigms(rows), "share of importance on spurious features")
