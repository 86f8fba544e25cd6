"""The report's figures' shared parts, and the panel heatmaps: each builder takes the run's rows
and returns a matplotlib Figure.

A builder raises `NotEnoughData` (with the reason) when the run cannot support its figure, e.g.
a single n_train means no learning curve; the report then lists the figure as skipped. Every
figure is drawn under the checked-in style (`style.STYLE`); error bars and bands are 95%
Student-t intervals over seeds, clipped to [0, 1] for rates.

What makes a figure read at page width is decided here, once: panels in natural order (numbers
sort as numbers: `natural_scenarios`, `natural_families`), models by group in the registry's
panel order (`grouped_models`), grids at most `GRID_COLUMNS` panels of `GRID_PANEL_WIDTH` inches
wide (`panel_grid`), titles wrapped to their panel (`style.wrapped`), one legend under the panels
no wider than they are (`legend_below`), and log-axis ticks chosen from the data's own values so
that their labels never touch (`spaced`). The per-scenario figures of model groups are in
`group_figures`; `tests/test_figure_legibility.py` checks every figure of a run for overlapping
texts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from matplotlib.transforms import Bbox
from scipy import special, stats
from spurbench.evaluation import metrics
from spurbench.registry import GROUPS, PANEL
from spurbench.report import style
from spurbench.report.prepare import (
    at_largest_n_train,
    panel,
    paradigms,
    t_interval,
    usable,
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


PROBIT_TICKS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99,
                0.995, 0.999)
MAX_PROBIT_TICKS = 5


def _probit_axes(ax: plt.Axes, low: float, high: float, max_ticks: int = MAX_PROBIT_TICKS) -> None:
    """Probit scale on both axes over [low, high] (plus a margin), at most `max_ticks` ticks.

    Both axes share the range so the no-degradation diagonal is the square's diagonal; ticks are
    picked from `PROBIT_TICKS` at least 1/`max_ticks` of the range apart in probit units, so they
    never collide however wide the range is (a narrow range between two of them: its two ends).
    A panel without a finite point keeps matplotlib's axes.
    """
    if not np.isfinite([low, high]).all():
        return
    lo, hi = metrics.probit([low, high])
    margin = 0.08 * max(hi - lo, 0.2)
    limits = stats.norm.cdf([lo - margin, hi + margin])
    spacing = (hi - lo + 2 * margin) / max_ticks
    # Which ticks show is decided on values rounded to millionths, so no last bit decides a tie.
    ticks = []
    for tick in PROBIT_TICKS:
        if round(limits[0], 6) <= tick <= round(limits[1], 6) and (not ticks or round(
                metrics.probit(tick) - metrics.probit(ticks[-1]), 6) >= round(spacing, 6)):
            ticks.append(tick)
    if len(ticks) < 2:  # a range between two listed ticks: its ends, inward to hundredths
        ticks = [math.ceil(round(limits[0] * 100, 6)) / 100, math.floor(round(limits[1] * 100, 6)) / 100]
    for set_scale, set_lim, axis in ((ax.set_xscale, ax.set_xlim, ax.xaxis),
                                     (ax.set_yscale, ax.set_ylim, ax.yaxis)):
        set_scale("function", functions=(metrics.probit, special.ndtr))  # ndtr: norm.cdf, unchecked
        set_lim(*limits)
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FixedFormatter([f"{t:g}" for t in ticks]))
        axis.set_minor_locator(NullLocator())


GRID_COLUMNS = 5  # panels a row of a grid figure holds: 5 x GRID_PANEL_WIDTH fits a page
GRID_PANEL_WIDTH = 1.6
GRID_PANEL_HEIGHT = 1.5
MIN_GRID_WIDTH = 3.6  # inches: a grid of one or two panels is widened so its legend fits under it
TITLE_MARGIN = 0.3  # inches of a panel's width its y tick labels take, left out of a title's line


def natural_scenarios(frame: pd.DataFrame) -> list[str]:
    """Scenarios by family, then name, numbers sorting as numbers (`style.natural_key`)."""
    pairs = frame[["family", "scenario"]].drop_duplicates().itertuples(index=False)
    ordered = sorted(pairs, key=lambda fs: (style.natural_key(fs[0]), style.natural_key(fs[1])))
    return [str(scenario) for _, scenario in ordered]


def natural_families(frame: pd.DataFrame) -> list[str]:
    return sorted(map(str, frame["family"].unique()), key=style.natural_key)


def grouped_models(frame: pd.DataFrame) -> list[str]:
    """Models of `frame` by group (the registry's `GROUPS`; oracles last), within a group the
    panel in the registry's order, then the group's other models (references, variants) by name."""
    group_of = dict(frame[["model", "group"]].drop_duplicates().itertuples(index=False))
    rank = {group: i for i, group in enumerate(GROUPS)}
    return sorted(map(str, group_of), key=lambda m: (rank.get(group_of[m], len(rank)),
                                                     PANEL.index(m) if m in PANEL else len(PANEL),
                                                     style.natural_key(m)))


def panel_grid(n_panels: int, width: float = GRID_PANEL_WIDTH, height: float = GRID_PANEL_HEIGHT,
               columns: int = GRID_COLUMNS) -> tuple[plt.Figure, np.ndarray]:
    """A figure of `n_panels` axes, `columns` to a row (the rest hidden), at most a page wide."""
    if not n_panels:
        raise NotEnoughData("no panel to draw")
    columns = min(columns, n_panels)
    n_rows = -(-n_panels // columns)
    width = max(width, MIN_GRID_WIDTH / columns)
    fig, axes = plt.subplots(n_rows, columns, squeeze=False, figsize=(width * columns, height * n_rows))
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def label_outer(axes: np.ndarray, n_panels: int, xlabel: str, ylabel: str,
                height: float = GRID_PANEL_HEIGHT) -> None:
    """`ylabel` on the first column (wrapped to the panels' `height`), `xlabel` under each
    column's lowest panel."""
    columns = axes.shape[1]
    ylabel = style.wrapped(ylabel, height - TITLE_MARGIN)
    for i, ax in enumerate(axes.flat[:n_panels]):
        ax.set_ylabel(ylabel if i % columns == 0 else "")
        ax.set_xlabel(xlabel if i + columns >= n_panels else "")


def legend_below(fig: plt.Figure, handles: list, labels: list[str], ncols: int | None = None) -> None:
    """Lay the figure out, then one legend under its panels in `ncols` columns, or as many (up
    to four) as fit within their width, measured in whole pixels."""
    fig.tight_layout()
    renderer = fig.canvas.get_renderer()
    span = Bbox.union([ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()])
    for columns in [ncols] if ncols else range(min(4, len(labels)), 0, -1):
        legend = fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=columns)
        if columns in (1, ncols) or int(legend.get_window_extent(renderer).width) <= int(span.width):
            return
        legend.remove()


def best_of_groups(rows: pd.DataFrame) -> dict[str, str]:
    """Per group: the panel model of `rows` with the highest mean validation accuracy (ties: the
    first in natural name order)."""
    val = rows.groupby(["group", "model"])["val_accuracy"].mean().dropna()
    best = {}
    for group, part in val.groupby(level="group"):
        part = part.droplevel("group")
        names = sorted(part.index, key=style.natural_key)
        best[str(group)] = str(max(names, key=lambda m: round(float(part[m]), 9)))
    return best


def group_handles(best: dict[str, str]) -> tuple[list, list[str]]:
    """Legend entries of the four groups (with the best model's name) and the best-model mark."""
    handles, labels = [], []
    for group in GROUPS:
        handles.append(Line2D([], [], color=style.group_colour(group), linestyle=style.group_linestyle(group),
                              linewidth=1.6))
        labels.append(group.replace("_", " ") + (f"\n(best: {best[group]})" if group in best else ""))
    handles.append(Line2D([], [], color="0.3", **style.BEST_LOOK))
    labels.append("best of group (chosen on validation)")
    return handles, labels


def _heatmap(matrix: pd.DataFrame, paradigm_of: dict[str, str], group_of: dict[str, str],
             label: str) -> plt.Figure:
    """Families (rows) x panel models (columns, by group, labels coloured by paradigm), annotated
    with the cell values; a white rule between groups."""
    fig, ax = plt.subplots(figsize=(1.6 + 0.42 * matrix.shape[1], 0.6 + 0.22 * matrix.shape[0]))
    sns.heatmap(matrix, ax=ax, annot=True, fmt=".2f", annot_kws={"fontsize": 6.5}, cmap="viridis",
                linewidths=0.5, linecolor="white", cbar_kws={"label": label, "shrink": 0.6})
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.grid(False)
    ax.tick_params(axis="x", labelrotation=90)
    for i in range(1, matrix.shape[1]):
        if group_of[matrix.columns[i]] != group_of[matrix.columns[i - 1]]:
            ax.axvline(i, color="white", linewidth=3)
    for tick in ax.get_xticklabels():
        tick.set_color(style.paradigm_colour(paradigm_of[tick.get_text()]))
    return fig


def _family_by_model(values: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per family and panel model: the mean over the family's scenarios of the mean over seeds."""
    values = values.dropna(subset=[column])
    if values.empty:
        raise NotEnoughData(f"no value of {column}")
    scenario = values.groupby(["family", "scenario", "model"])[column].mean()
    matrix = scenario.groupby(["family", "model"]).mean().unstack("model")
    return matrix.reindex(index=natural_families(values), columns=grouped_models(values))


def _panel_heatmap(rows: pd.DataFrame, values: pd.DataFrame, column: str, label: str) -> plt.Figure:
    values = values.merge(rows[["scenario", "model", "family", "group"]].drop_duplicates())
    matrix = _family_by_model(values, column)
    return _heatmap(matrix, paradigms(rows), dict(rows[["model", "group"]].drop_duplicates().itertuples(
        index=False)), label)


def auc_heatmap(frame: pd.DataFrame) -> plt.Figure:
    """Normalised area under accuracy-vs-shift of the panel models, mean per family."""
    rows = panel(at_largest_n_train(usable(frame)))
    return _panel_heatmap(rows, metrics.normalised_auc(rows), "accuracy_nauc",
                          "normalised area under accuracy vs shift")


def spurious_importance(frame: pd.DataFrame) -> plt.Figure:
    """Share of the panel models' feature importance on spurious features, mean per family."""
    rows = panel(at_largest_n_train(usable(frame)))
    return _panel_heatmap(rows, rows[["scenario", "model", "spurious_importance"]], "spurious_importance",
                          "share of importance on spurious features")
