"""Figure builders shared by the paper experiments.

Each takes a tidy frame the experiment has already selected and returns a matplotlib Figure with
the report's look (`style`): one colour family and line style per paradigm, one shade and marker
per model, a single legend outside the panels, 95% Student-t bands over seeds. They raise
`NotEnoughData` when there is nothing to draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from scipy import stats
from spurbench.evaluation import metrics
from spurbench.report import style
from spurbench.report.figures import (
    PANEL_ASPECT,
    PANEL_HEIGHT,
    NotEnoughData,
    _probit_axes,
    curve_summary,
    model_lines,
    rate_interval,
    spaced,
)
from spurbench.report.prepare import PARADIGM_ORDER, model_order, paradigms

MARKERS = {"generative": "o", "discriminative": "s", "oracle": "^"}


def _set_ticks(ax: plt.Axes, positions: Sequence[float], labels: Sequence[object]) -> None:
    ax.xaxis.set_major_locator(FixedLocator(list(positions)))
    ax.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in labels]))
    ax.xaxis.set_minor_locator(NullLocator())


def _nothing_below(key: object, col_order: list, col_wrap: int | None, row: str | None) -> bool:
    """Whether a panel of a wrapped grid (no rows) has no panel under it."""
    return bool(col_wrap) and row is None and col_order.index(key) + col_wrap >= len(col_order)


def facet_lines(long: pd.DataFrame, x: str, xlabel: str, col: str, col_order: Sequence[str],
                row: str | None = None, row_order: Sequence[str] | None = None, ylabel: str = "",
                xscale: str = "linear", col_wrap: int | None = None,
                sharey: bool | str = False) -> plt.Figure:
    """Lines of `value` against `x`, one per model, in a grid of `row` x `col` panels.

    `long` has one row per (model, seed, panel, x) with columns model, paradigm, seed, `x`, `col`,
    `row` (when given) and value. With rows, panels of one row share their y axis and the row's name
    labels it; otherwise `ylabel` does, and `col_wrap` may fold the columns. `xscale` is "linear",
    "log" (each panel ticked at its own x values, thinned) or "ordinal" (equally spaced positions
    labelled with the sorted x values, for sweeps over a few uneven values such as 0, 20, 500).
    """
    if long.empty:
        raise NotEnoughData("no rows to draw")
    if col_wrap:  # fewer panels than a row holds: no empty columns widening the figure
        col_wrap = min(col_wrap, len(col_order))
    models = model_order(long)
    look = style.model_styles(models, paradigms(long))
    values = np.sort(long[x].unique())
    # Panels tall enough that the one-column legend is never taller than the grid.
    n_rows = long[row].nunique() if row else -(-len(col_order) // col_wrap) if col_wrap else 1
    entries = len(models) + len(set(paradigms(long).values()))
    height = max(PANEL_HEIGHT, style.legend_height(entries) / n_rows)
    data = long
    if xscale == "ordinal":
        data = long.assign(**{x: long[x].map({v: i for i, v in enumerate(values)})})
    panels = [row, col] if row else [col]
    aspect = max(1.0, PANEL_ASPECT * PANEL_HEIGHT / height)
    grid = model_lines(
        curve_summary(data, x, "value", panels), x, models, look, col=col, col_order=list(col_order), row=row,
        row_order=list(row_order) if row_order is not None else None, col_wrap=None if row else col_wrap,
        height=height, aspect=aspect,
        sharey="row" if row else sharey, sharex=xscale != "log")
    for key, ax in grid.axes_dict.items():
        row_name, col_name = key if row else (None, key)
        spec = ax.get_subplotspec()
        ax.set_title(str(col_name) if row is None or spec.is_first_row() else "")
        ax.set_ylabel("" if not spec.is_first_col() else str(row_name) if row else ylabel)
        bottom = spec.is_last_row() or _nothing_below(key, list(col_order), col_wrap, row)
        ax.set_xlabel(xlabel if bottom else "")
        if xscale == "ordinal":
            _set_ticks(ax, range(len(values)), values)
        elif xscale == "log":
            ax.set_xscale("log")
            mask = long[col] == col_name if row is None else (long[col] == col_name) & (long[row] == row_name)
            ticks = spaced(long.loc[mask, x].unique(), height * aspect)
            _set_ticks(ax, ticks, ticks)
    style.add_model_legend(grid.laid_out(), models, paradigms(long), look)
    return grid.figure


def model_points(values: pd.DataFrame, xlabel: str) -> plt.Figure:
    """One row per model (grouped by paradigm): the mean of `value` over seeds, 95% t-interval."""
    if values.empty:
        raise NotEnoughData("no rows to draw")
    models = model_order(values)
    look = style.model_styles(models, paradigms(values))
    fig, ax = plt.subplots(figsize=(4.2, 0.8 + 0.22 * len(models)))
    for i, model in enumerate(models):
        cell = values.loc[values["model"] == model, "value"]
        low, high = rate_interval(cell)
        ax.plot([low, high], [i, i], color=look["palette"][model], linewidth=1.6)
        ax.plot(cell.mean(), i, marker=look["markers"][model], color=look["palette"][model], markersize=5)
    ax.set_yticks(range(len(models)), models)
    ax.invert_yaxis()
    for tick in ax.get_yticklabels():
        tick.set_color(style.paradigm_colour(paradigms(values)[tick.get_text()]))
    ax.set_xlabel(xlabel)
    return fig


def on_the_line(points: pd.DataFrame, lines: pd.DataFrame) -> plt.Figure:
    """In-distribution vs shifted accuracy on probit axes, one panel per family.

    `points` has family, scenario, paradigm, in_distribution, shifted (one row per scenario and
    model); `lines` has per family and scenario the probit line's slope and intercept, each drawn
    in grey over its own scenario's points, and per family the median R² shown in the title.
    """
    if points.empty:
        raise NotEnoughData("no scenario with a shift and enough models")
    families = sorted(points["family"].unique())
    n_cols = min(4, len(families))
    n_rows = -(-len(families) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols, 2.6 * n_rows), squeeze=False)
    order = [p for p in PARADIGM_ORDER if p in set(points["paradigm"])]
    for ax, family in zip(axes.flat, families, strict=False):
        cell = points[points["family"] == family]
        low, high = cell[["in_distribution", "shifted"]].stack().agg(["min", "max"])
        _probit_axes(ax, low, high)
        ax.plot([low, high], [low, high], color="0.75", linestyle=":", linewidth=0.8)
        fits = lines[(lines["family"] == family) & np.isfinite(lines["slope"])]
        for fit in fits.itertuples():
            span = cell.loc[cell["scenario"] == fit.scenario, "in_distribution"]
            xs = np.linspace(span.min(), span.max(), 20)
            ax.plot(xs, stats.norm.cdf(fit.intercept + fit.slope * metrics.probit(xs)), color="0.35",
                    linewidth=0.7, alpha=0.8)
        for paradigm in order:
            part = cell[cell["paradigm"] == paradigm]
            ax.scatter(part["in_distribution"], part["shifted"], s=9, alpha=0.75, linewidths=0,
                       color=style.paradigm_colour(paradigm), marker=MARKERS[paradigm])
        median = fits["r2"].median()
        ax.set_title(f"{family}\n({cell['scenario'].nunique()} scenario(s), median R² "
                     + (f"{median:.2f})" if np.isfinite(median) else "–)"))
        spec = ax.get_subplotspec()
        ax.set_ylabel("accuracy at largest shift" if spec.is_first_col() else "")
        ax.set_xlabel("accuracy at shift 0")
    for ax in axes.flat[len(families):]:
        ax.set_visible(False)
    handles = [Line2D([], [], linestyle="none", marker=MARKERS[p], color=style.paradigm_colour(p))
               for p in order]
    fig.legend(handles, order, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig
