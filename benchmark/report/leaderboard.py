"""The leaderboard: one row per model, from a run's stored rows only.

Columns (the same names in `spurbench leaderboard`, `spurbench.leaderboard`, report.md and
report.html):

  model, paradigm, group   the model and its declared paradigm and group
  reference                0 for the models whose rows enter the report's averages (the panel,
                           `spurbench.report.prepare.panel`), 1 for the rest: oracles, `+em`
                           and other `<model>+<how>` variants, models tagged `reference`
  scenarios, families      scenarios with a shift that the model ran, and their families
  rank                     rank by the sort key among the non-reference rows (1 = best mean)
  rank_low, rank_high      the rank's interval: 1 + the number of models clearly better, and
                           the count of models minus those clearly worse; "tied" where the two
                           differ. Clearly better: the 95% t interval of the paired difference
                           (the other model minus this one, over the families both ran) lies
                           wholly above 0. Paired, because scenario difficulty is shared: two
                           models can differ clearly while their own intervals overlap. Each
                           pair is judged at 95% on its own (a description, not a test)
  accuracy_id              accuracy on the training distribution (shift 0)
  accuracy_shift           accuracy at each scenario's largest shift
  worst_group_shift        worst-group accuracy at each scenario's largest shift
  normalised_auc           area under accuracy versus shift over the shift range: the curve's
                           mean height, which rewards degrading late as well as little
  <metric>_ci_low/_ci_high the 95% t interval of each mean (shown as "mean ± half-width")

Each mean is over the families the model ran, every family weighing equally and every scenario
equally within its family (a scenario's value is the mean over seeds at its largest training
size, the setting of the report's shift summaries): a family swept over many scenarios for an
experiment counts once. The interval is a t interval over the family means on F - 1 degrees of
freedom, so two models whose intervals overlap show as tied. A model that ran fewer than 3
families gets its mean and interval over its scenarios instead, and below 3 scenarios over its
(scenario, seed) cells; either speaks for those scenarios only (pairs likewise: families, else
common scenarios, else common cells). Fewer than 3 units give no interval, and no clear
difference. Only the `fixed` selection protocol and successful rows count, and scenarios with a
single shift level (learning curves) are left out. Of the panel's models, only the rows that
enter the report's averages count: fits flagged `chance_fit` or `singular_covariance` are left
out, as report.md leaves them out (`prepare.panel`, the one rule); reference rows are shown as
they ran.

Sort key: the panel first (reference = 0), then accuracy_shift descending (what the benchmark
is about; `sort_by` picks another metric), then model name.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.evaluation.metrics import normalised_auc
from spurbench.evaluation.selection import fixed
from spurbench.report.prepare import (
    GROUP_TRAINED,
    as_ranked,
    at_largest_n_train,
    panel,
    usable,
    with_shift_levels,
)

METRICS = ("accuracy_id", "accuracy_shift", "worst_group_shift", "normalised_auc")
SORT_KEY = "accuracy_shift"
LEVEL = 0.95
MIN_UNITS = 3  # fewer families than this: the interval is over scenarios, below it over cells
COLUMNS = ("model", "paradigm", "group", "reference", "scenarios", "families", "rank", "rank_low",
           "rank_high",
           *(f"{m}{part}" for m in METRICS for part in ("", "_ci_low", "_ci_high")))
DISPLAYED = ("model", "paradigm", "group", "reference", "scenarios", "families", "rank", *METRICS)


# What the board reads of a row (and what `prepare.panel` and `selection.fixed` read): taking
# these first makes every later selection copy a few columns, not the whole stored row.
READ = ("scenario", "family", "model", "paradigm", "group", "reference", "seed", "n_train", "shift", "status",
        "selection", "fit_flags", GROUP_TRAINED, "accuracy", "worst_group_accuracy")


def _usable(frame: pd.DataFrame) -> tuple[pd.DataFrame, set[str]]:
    """Successful `fixed` rows at each scenario's largest n_train, of scenarios with a shift; of
    the ranked models (the panel: `prepare.panel`, flagged fits or not) only the rows that enter
    averages (`prepare.panel`: no flagged fit). Returns the rows and the ranked models."""
    if "group" not in frame:  # runs stored before models declared a group
        frame = frame.assign(group="", reference=frame["paradigm"].eq("oracle").astype(int))
    frame = frame[[c for c in READ if c in frame]]
    # shift summaries need a shift: learning-curve scenarios (one level) would rank in-distribution
    # accuracy as accuracy under shift, for the few models they run
    ok = with_shift_levels(at_largest_n_train(fixed(usable(frame)))).reset_index(drop=True)
    ranked = set(panel(ok, include_flagged=True)["model"])
    counted = ok.index.isin(panel(ok).index)
    return ok[counted | ~ok["model"].isin(ranked)], ranked


def _seed_values(ok: pd.DataFrame) -> pd.DataFrame:
    ok = ok.assign(family=ok["family"] if "family" in ok else ok["scenario"])
    keys = ["model", "family", "scenario", "seed"]
    last = ok[ok["shift"] == ok.groupby("scenario")["shift"].transform("max")]
    values = pd.DataFrame({
        "accuracy_id": ok[ok["shift"] == 0].groupby(keys)["accuracy"].mean(),
        "accuracy_shift": last.groupby(keys)["accuracy"].mean(),
        "worst_group_shift": last.groupby(keys)["worst_group_accuracy"].mean(),
        "normalised_auc": normalised_auc(ok).merge(ok[["scenario", "family"]].drop_duplicates(),
                                                   on="scenario").groupby(keys)["accuracy_nauc"].mean()})
    return values.reset_index()


def seed_values(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, family, scenario, seed) with the four leaderboard metrics of that fit
    (rows without a family column: each scenario is its own family)."""
    return _seed_values(_usable(frame)[0])


def scenario_values(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, scenario), with its family: the leaderboard metrics, each a mean over seeds."""
    return seed_values(frame).groupby(["model", "family", "scenario"], as_index=False)[list(METRICS)].mean()


def mean_interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t interval of the finite `values`; no interval below ``MIN_UNITS`` values
    (an interval from fewer independent units is never called clear)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < MIN_UNITS:
        return (float(values.mean()) if len(values) else np.nan), np.nan, np.nan
    mean = float(values.mean())
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, float(mean - half), float(mean + half)


def _summaries(cells: pd.DataFrame) -> pd.DataFrame:
    """Per model, each metric's mean and interval over families (below MIN_UNITS families over
    scenarios, below MIN_UNITS scenarios over cells)."""
    by_scenario = cells.groupby(["model", "family", "scenario"])[list(METRICS)].mean()
    by_family = by_scenario.groupby(level=["model", "family"]).mean()
    out = {}
    for model, part in by_family.groupby(level="model"):
        scenarios = by_scenario.loc[model]
        units = (part if len(part) >= MIN_UNITS else scenarios if len(scenarios) >= MIN_UNITS
                 else cells[cells["model"] == model])
        out[model] = {f"{metric}{part_name}": value for metric in METRICS
                      for part_name, value in zip(("", "_ci_low", "_ci_high"),
                                                  mean_interval(units[metric].to_numpy(float)), strict=True)}
    return pd.DataFrame.from_dict(out, orient="index")


def _clearly_above(units: pd.DataFrame, level: float = LEVEL) -> np.ndarray:
    """[i, j] is True where model j is clearly better than model i (see the module docstring).

    `units` holds one column per model and one row per (family, scenario, seed) cell (without a
    family level, each scenario is its own family).
    """
    by_scenario = units.groupby(level=[n for n in ("family", "scenario") if n in units.index.names]).mean()
    by_family = by_scenario.groupby(level="family").mean() if "family" in units.index.names else by_scenario
    values = [t.to_numpy(float) for t in (by_family, by_scenario, units)]
    n = units.shape[1]
    above = np.zeros((n, n), dtype=bool)
    for i in range(n):
        for j in range(n):
            for table in values:  # families, else scenarios, else cells (MIN_UNITS shared)
                diff = table[:, j] - table[:, i]
                diff = diff[np.isfinite(diff)]
                if len(diff) >= MIN_UNITS:
                    above[i, j] = i != j and mean_interval(diff, level)[1] > 0
                    break
    return above


def rank_with_intervals(units: pd.DataFrame, mean: pd.Series) -> pd.DataFrame:
    """Integer ranks of `mean` (1 = highest, ties share the best) and their intervals.

    `units` : one column per model (in `mean`'s order), one row per (family, scenario, seed) cell
    (a MultiIndex with "scenario" and, optionally, "family" levels). `rank_low` = 1 + the models
    clearly better, `rank_high` = the number of models minus those clearly worse (paired t
    intervals).
    """
    m = mean.to_numpy(float)
    above = _clearly_above(units[list(mean.index)])
    rank = (m[None, :] > m[:, None]).sum(axis=1) + 1
    low = np.minimum(above.sum(axis=1) + 1, rank)  # models ran different scenarios: keep rank inside
    high = np.maximum(len(m) - above.sum(axis=0), rank)
    return pd.DataFrame({"rank": rank, "rank_low": low, "rank_high": high}, index=mean.index)


def leaderboard(frame: pd.DataFrame, sort_by: str = SORT_KEY) -> pd.DataFrame:
    """Per-model summary of a results frame, best first (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Result rows as stored (`spurbench.load`); error rows are ignored.
    sort_by : one of ``METRICS``; what `rank` and the order follow (default accuracy_shift).

    Returns
    -------
    pandas.DataFrame
        One row per model with the columns of ``COLUMNS``; `rank` is empty on reference rows.
    """
    if sort_by not in METRICS:
        from spurbench.errors import ParameterError

        raise ParameterError("sort_by", f"{sort_by!r} is not a leaderboard metric; use one of "
                             f"{', '.join(METRICS)}")
    ok, ranked_models = _usable(as_ranked(frame))  # `+em` variants named test-set-adapted, as in report.md
    if ok.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    ok = ok.assign(family=ok["family"] if "family" in ok else ok["scenario"])
    board = ok.groupby("model").agg(paradigm=("paradigm", "first"), group=("group", "first"),
                                    scenarios=("scenario", "nunique"), families=("family", "nunique"))
    board.insert(2, "reference", (~board.index.isin(ranked_models)).astype(int))
    cells = _seed_values(ok)
    board = board.join(_summaries(cells))
    ranked = board.loc[board["reference"] == 0, sort_by]
    units = cells.pivot_table(index=["family", "scenario", "seed"], columns="model", values=sort_by,
                              dropna=False)
    ranks = rank_with_intervals(units.reindex(columns=ranked.index), ranked)
    board = board.join(ranks.astype("Int64"))
    board = board.reset_index().sort_values(["reference", sort_by, "model"], ascending=[True, False, True],
                                            na_position="last")
    return board[list(COLUMNS)].reset_index(drop=True)


def rank_cell(rank: object, low: object, high: object) -> str:
    """`3`, or `3 (tied 2-5)` where the rank's interval spans more than one place; "" if none."""
    if pd.isna(rank):
        return ""
    return f"{rank}" if low == high else f"{rank} (tied {low}-{high})"


def _mean_cell(mean: float, low: float, high: float) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.3f}" if pd.isna(low) else f"{mean:.3f} ± {(high - low) / 2:.3f}"


def displayed(board: pd.DataFrame) -> pd.DataFrame:
    """The board as text cells under ``DISPLAYED``: rank with its interval, means with theirs."""
    shown = pd.DataFrame({c: board[c].map(lambda v: "" if pd.isna(v) else str(v))
                          for c in ("model", "paradigm", "group", "reference", "scenarios", "families")})
    shown["rank"] = [rank_cell(*r) for r in board[["rank", "rank_low", "rank_high"]].itertuples(index=False)]
    for metric in METRICS:
        shown[metric] = [_mean_cell(*r) for r in board[[metric, f"{metric}_ci_low", f"{metric}_ci_high"]]
                         .itertuples(index=False)]
    return shown[list(DISPLAYED)]


def to_markdown(board: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table (means ± the half-width of their 95% interval)."""
    shown = displayed(board)
    lines = ["| " + " | ".join(DISPLAYED) + " |", "|" + " --- |" * len(DISPLAYED)]
    lines += ["| " + " | ".join(row) + " |" for row in shown.itertuples(index=False)]
    return "\n".join(lines)


def to_text(board: pd.DataFrame) -> str:
    """The leaderboard as aligned plain text, for the end of `spurbench run`."""
    return displayed(board).to_string(index=False)


class Comparison:
    """What `spurbench.compare` returns: one model ranked beside others on the same grid.

    Only the scenarios the candidate ran count, so every model is ranked on the same scenarios
    and data (a spec that lists its own `run.models` runs no model it does not name).
    Attributes: `rows` (the run's stored rows of those scenarios), `candidate` (its name),
    `sort_by`, `per_scenario` (one row per model and scenario, with its family, means over seeds:
    family means of these are the units of the intervals).
    """

    def __init__(self, rows: pd.DataFrame, candidate: str, sort_by: str = SORT_KEY):
        ran = rows.loc[rows["model"] == candidate, "scenario"].unique()
        self.rows, self.candidate, self.sort_by = rows[rows["scenario"].isin(ran)], candidate, sort_by
        self.per_scenario = scenario_values(self.rows)

    def to_frame(self) -> pd.DataFrame:
        """The leaderboard of the compared models (``COLUMNS``) plus `candidate` (bool)."""
        board = leaderboard(self.rows, self.sort_by)
        return board.assign(candidate=board["model"] == self.candidate)

    def to_markdown(self) -> str:
        """The leaderboard as Markdown, the candidate's name in bold."""
        board = self.to_frame()
        board["model"] = board["model"].where(~board["candidate"], "**" + board["model"] + "**")
        return to_markdown(board)

    def __repr__(self) -> str:
        board = self.to_frame()
        row = board.set_index("model").loc[self.candidate]
        rank = rank_cell(row["rank"], row["rank_low"], row["rank_high"])
        ranked = int((board["reference"] == 0).sum())
        return f"Comparison({self.candidate!r}: rank {rank} of {ranked} by {self.sort_by})"

    def plot(self, metrics: tuple[str, ...] = ("accuracy_shift", "worst_group_shift")) -> Any:
        """A matplotlib Figure of the ranked models (reference rows left out): per metric, each
        mean with its 95% interval, best on top, labelled with its rank, the candidate in bold;
        paradigms coloured as in the report. Made without pyplot, so nothing is shown twice."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from spurbench.report.style import COLORMAPS, paradigm_colour

        board = self.to_frame()
        board = board[board["reference"] == 0].iloc[::-1].reset_index(drop=True)
        colour = [paradigm_colour(p) if p in COLORMAPS else "black" for p in board["paradigm"]]
        fig = Figure(figsize=(3.2 * len(metrics) + 2.2, 0.3 * len(board) + 1.4), layout="constrained")
        axes = fig.subplots(1, len(metrics), sharey=True, squeeze=False)[0]
        for ax, metric in zip(axes, metrics, strict=True):
            for y, row in board.iterrows():
                error = [[row[metric] - row[f"{metric}_ci_low"]], [row[f"{metric}_ci_high"] - row[metric]]]
                ax.errorbar(row[metric], y, xerr=error, fmt="o", color=colour[y],
                            ms=7 if row["candidate"] else 4, capsize=2)
            ax.set(xlabel=metric, xlim=(0, 1))
            ax.grid(axis="x", alpha=0.3)
        labels = [f"{m}  {rank_cell(*r)}" for m, *r in
                  board[["model", "rank", "rank_low", "rank_high"]].itertuples(index=False)]
        axes[0].set_yticks(range(len(board)), labels)
        for label, is_candidate in zip(axes[0].get_yticklabels(), board["candidate"], strict=True):
            label.set_fontweight("bold" if is_candidate else "normal")
        shown = [p for p in COLORMAPS if p in set(board["paradigm"])]
        fig.legend([Line2D([], [], color=paradigm_colour(p), marker="o", ls="") for p in shown], shown,
                   loc="outside lower center", ncols=len(shown), frameon=False)
        fig.suptitle(f"{self.candidate} against {len(board) - 1} models: mean ± 95% interval over "
                     f"families; rank by {self.sort_by} (tied: its interval)", fontsize="medium")
        return fig


class _CallableModule(types.ModuleType):
    """`spurbench.leaderboard(rows)` is this module's `leaderboard`: the package's `leaderboard`
    attribute is this module, whoever imported it first, so the module itself answers the call."""

    def __call__(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        return leaderboard(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
