"""What the modern-anchor experiments share: seed-level sides of a comparison, paired and Welch
verdicts on published claims, and a band-line panel that draws named models beside group means.

These experiments compare named models (a reweighted fit, a mixture model, a variant of a learner)
with each other or with a group of the panel, rather than paradigm with paradigm. The unit is the
seed, as everywhere: a side's value on one seed is the mean over its models (or over the panel
learners of a group, `prepare.panel`), and two sides measured on the same scenario are paired on
the seed (every model of one (scenario, seed) saw the same data); sides from different scenarios
are compared with Welch's interval. Every verdict asks the `claims.Verdicts` it is given
(`_stats.verdict`, `equivalence`), so the joint Holm correction covers them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from spurbench.registry import GROUPS
from spurbench.report import style
from spurbench.report.claims import FEW_CLUSTERS, MIN_CLUSTERS, UNCORRECTED, Verdicts
from spurbench.report.experiments._stats import interval, welch_difference, with_ci
from spurbench.report.figures import BAND_ALPHA, NotEnoughData
from spurbench.report.prepare import panel, t_interval
from spurbench.report.summaries import GROUP_LOOK, group_colour

# (colour, dashes, marker) of one line of a band panel.
Look = tuple[tuple[float, ...], object, str]


def side(rows: pd.DataFrame, value: str, models: Iterable[str], by: Sequence[str] = ()) -> pd.Series:
    """One side of a comparison: per (`by`, seed), the mean of `value` over `models`.

    Parameters
    ----------
    rows : pd.DataFrame
        Result rows (one shift level, so one row per model, seed and `by` cell).
    value : str
        The metric column.
    models : iterable of str
        The side's models; those that did not run are simply absent from the mean.
    by : sequence of str
        Further keys (e.g. "scenario") kept in the index.

    Returns
    -------
    pd.Series
        Indexed by (*by, seed): one value per seed, the unit the intervals count.
    """
    part = rows[rows["model"].isin(list(models))]
    return part.groupby([*by, "seed"])[value].mean().dropna()


def group_sides(rows: pd.DataFrame, value: str, by: Sequence[str] = ()) -> pd.DataFrame:
    """Long frame (`by`, group, seed, value): each group's panel mean per seed (flagged fits out)."""
    means = panel(rows).groupby([*by, "group", "seed"])[value].mean().dropna()
    return means.rename("value").reset_index()


def paired(first: pd.Series, second: pd.Series) -> tuple[float, float, float, int]:
    """Paired difference of two sides measured on the same data.

    Parameters
    ----------
    first, second : pd.Series
        Sides from `side` on the same scenario, so their index entries (seeds) match.

    Returns
    -------
    tuple of (float, float, float, int)
        Mean of `second` minus `first` over the seeds both have, its 95% t-interval (NaN without
        spread) and the number of seeds.
    """
    diff = (second - first).dropna()
    low, high = interval(diff)
    return (float(diff.mean()) if len(diff) else np.nan), low, high, len(diff)


def welch(after: pd.Series, before: pd.Series) -> tuple[float, float, float, int]:
    """Difference of two sides from different scenarios (different data, so unpaired).

    Returns
    -------
    tuple of (float, float, float, int)
        Mean of `after` minus mean of `before`, Welch's 95% interval, and the smaller sample's size
        (the count `claims.Claim.of` checks against its minimum number of units).
    """
    diff, low, high = welch_difference(after, before)
    return diff, low, high, int(min(after.count(), before.count()))


def equivalence(diffs: pd.Series, margin: float, unit: str = "seeds",
                verdicts: Verdicts = UNCORRECTED) -> str:
    """The verdict on a claim that a difference (`diffs`, one per unit: seed or scenario) lies within
    +-`margin`; `unit` names what `diffs` are counted over.

    Two one-sided tests, each bound one claim of the book: the difference clearly above -margin and
    clearly below +margin. Reproduced when both hold; contradicted when it is clearly beyond either
    bound (the sentence names the margin and the observed difference); else not detected, with the
    power to show equivalence if the true difference were 0 (normal approximation from the
    interval's standard error; each one-sided test at the corrected level `verdicts.alpha`). When every unit
    gives the same difference within the margin (e.g. naive Bayes, where dropping a feature's
    factor is exactly a refit without it), there is nothing to test: reproduced exactly, said as
    such.
    """
    diffs = diffs.dropna()
    n = len(diffs)
    low, high = interval(diffs)
    if n >= MIN_CLUSTERS and np.ptp(diffs) == 0 and abs(diffs.iloc[0]) <= margin:
        return f"reproduced exactly (the same difference on all {n} {unit}; no test needed)"
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no verdict (no interval)"
    if n < MIN_CLUSTERS:
        return f"no verdict ({FEW_CLUSTERS})"
    above = verdicts.decide(low + margin, high + margin, n)
    below = verdicts.decide(low - margin, high - margin, n)
    if above > 0 and below < 0:
        return f"reproduced (clearly within +-{margin:.3f})"
    if above < 0 or below > 0:
        return (f"contradicted (clearly outside +-{margin:.3f}: "
                f"{with_ci(float(diffs.mean()), low, high)})")
    se = (high - low) / 2 / stats.t.ppf(0.975, max(n - 1, 1))
    reach = margin / se - stats.norm.ppf(1 - verdicts.alpha() / 2)
    chance = max(0.0, 2 * stats.norm.cdf(reach) - 1)
    outside = ("; the 95% interval lies outside it, but not after the joint correction"
               if low > margin or high < -margin else "")
    return (f"not detected (power {chance:.2f} to show it within +-{margin:.3f} at a true 0, corrected "
            f"level{outside})")


def bands(long: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Mean and band per line point.

    Parameters
    ----------
    long : pd.DataFrame
        One row per seed and point, with the columns `keys` and value.
    keys : sequence of str
        What identifies a point (e.g. x value and line label).

    Returns
    -------
    pd.DataFrame
        Columns `keys`, mean, low, high (95% Student-t interval over seeds, a point for one seed)
        and n (seeds).
    """
    def _band(values: pd.Series) -> pd.Series:
        low, high = t_interval(values)
        return pd.Series({"mean": values.mean(), "low": low, "high": high, "n": values.count()})

    return long.groupby(list(keys))["value"].apply(_band).unstack().reset_index()


# Named models (reference models, or one panel model singled out) get hues that neither paradigm's
# blues nor its oranges use, so they never read as one of the group means they are drawn beside.
NAMED_COLOURS = tuple(plt.get_cmap("Dark2")(i) for i in (0, 2, 3, 4, 6, 7))
NAMED_MARKERS = ("s", "^", "D", "v", "P", "X")
HEADINGS = ("panel group means", "named models")


def looks(models: Sequence[str], rows: pd.DataFrame) -> dict[str, Look]:
    """The look of the four group means (the summary figure's) and of each named model (its own
    hue, dash-dotted), keyed by line label."""
    found = {g: (group_colour(g), GROUP_LOOK[g][2], "o") for g in GROUPS}
    return found | {m: (NAMED_COLOURS[i % len(NAMED_COLOURS)], (3, 1, 1, 1),
                        NAMED_MARKERS[i % len(NAMED_MARKERS)]) for i, m in enumerate(models)}


def band_lines(ax: plt.Axes, summary: pd.DataFrame, x: str, line: str, look: dict[str, Look],
               thin: Iterable[str] = ()) -> None:
    """One line per `line` value of `summary` (from `bands`) against `x`, with its band; the lines
    named in `thin` (named models beside the group means) are drawn thinner."""
    thin = set(thin)
    for label, (colour, dash, marker) in look.items():
        part = summary[summary[line] == label].sort_values(x)
        if part.empty:
            continue
        ax.plot(part[x], part["mean"], color=colour, linestyle="-" if dash == "" else (0, dash),
                marker=marker, markersize=3, linewidth=1.0 if label in thin else 1.8)
        ax.fill_between(part[x], part["low"].clip(0, 1), part["high"].clip(0, 1), color=colour,
                        alpha=BAND_ALPHA * 2, linewidth=0)


def legend(fig: plt.Figure, look: dict[str, Look], shown: Iterable[str]) -> None:
    """A single legend outside the panels for the lines actually drawn, group means and named models
    under a bold heading each (group names spelled out)."""
    shown = set(shown)
    sections = [[label for label in look if label in shown and (label in GROUPS) == is_group]
                for is_group in (True, False)]
    if not any(sections):
        raise NotEnoughData("no line to draw")
    handles, labels = [], []
    for heading, members in zip(HEADINGS, sections, strict=True):
        if members:
            handles.append(plt.Line2D([], [], linestyle="none"))
            labels.append(heading)
        for label in members:
            colour, dash, marker = look[label]
            handles.append(plt.Line2D([], [], color=colour, marker=marker,
                                      linestyle="-" if dash == "" else (0, dash)))
            labels.append(label.replace("_", " ") if label in GROUPS else label)
    found = fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), handlelength=2.6,
                       ncols=style.legend_columns(fig, len(labels)))
    for text in found.get_texts():
        if text.get_text() in HEADINGS:
            text.set_fontweight("bold")
