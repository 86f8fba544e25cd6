"""What every experiment's analysis shares: its output (`Section`), selections and sentences.

Worst-group accuracy and the counterfactual flip rate are read at shift 0.5 (`GROUP_SHIFT`), where
the spurious families make the four groups (y, a) equally common: a group's accuracy does not
depend on the group shares, so the level only sets how many test points each group gets, and with
few points the minimum over four noisy group accuracies is biased low.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from spurbench.evaluation.metrics import degradation
from spurbench.evaluation.selection import fixed
from spurbench.report.claims import MIN_CLUSTERS, REFERENCE_EFFECT, UNCORRECTED, Verdicts
from spurbench.report.experiments._stats import (
    at_level,
    interval,
    judged,
    paradigm_contrast,
    tally,
    verdict,
    welch_difference,
    with_ci,
)
from spurbench.report.prepare import PANEL_COLUMNS, at_largest_shift, model_order, panel

GROUP_SHIFT = 0.5
GENERATIVE_GROUPS = ("parametric_generative", "flexible_generative")
WGA = f"worst-group accuracy (shift {GROUP_SHIFT:g})"
FLIP = f"flip rate (shift {GROUP_SHIFT:g})"
SHIFTED = "accuracy at largest shift"
SHORTCUT_METRICS = (WGA, FLIP, SHIFTED)

Params = dict[str, dict]  # scenario name -> its spec's [params]


@dataclass(frozen=True)
class Experiment:
    """One paper experiment: its place in `experiments.md`, the tag of its scenarios (None: every
    scenario), an optional further selection of their rows, its analysis, and the published claim
    with its pre-registered test (`claim`, stated before any number: see `rule`).

    Each module of this package defines one as `EXPERIMENT`; the package finds them by itself, so
    an experiment is added by adding one module.
    """

    order: int
    tag: str | None
    title: str
    question: str
    analyse: Callable[[pd.DataFrame, Params], Section | Pending]
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    claim: str = ""
    protocols: bool = False  # reads every selection protocol's rows, not only `fixed`

    def rows(self, frame: pd.DataFrame, params: Params) -> pd.DataFrame:
        """The rows of `frame` this experiment reads: its scenarios' (at the registered defaults
        unless it compares selection protocols), then `select`."""
        rows = frame[frame["scenario"].isin(params)]
        rows = rows if self.protocols else fixed(rows)
        return rows if self.select is None else self.select(rows)


@dataclass(frozen=True)
class FigurePlan:
    """A figure to draw (lazily, so the renderer can apply the style and skip what cannot be drawn)."""

    name: str
    caption: str
    build: Callable[[], plt.Figure]


@dataclass
class Section:
    """What one experiment contributes: findings, tables (file name, title, frame) and figures."""

    bullets: list[str] = field(default_factory=list)
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)
    figures: list[FigurePlan] = field(default_factory=list)


@dataclass(frozen=True)
class Pending:
    """An analysed experiment whose text waits for the correction: `write` turns the analysis's
    numbers into its `Section`, asking `verdicts` for every claim. The renderer calls it once with
    a `claims.Recorder` (the claims, as values) and once with the joint `claims.Corrected`."""

    write: Callable[[Verdicts], Section]


def written(result: Section | Pending, verdicts: Verdicts = UNCORRECTED) -> Section:
    """The section of an analysis: a pending one written with `verdicts` (by default uncorrected,
    each claim at 0.05 on its own, as outside a report)."""
    return result.write(verdicts) if isinstance(result, Pending) else result


def pending(bullets: Callable[[Verdicts], list[str]], tables: list[tuple[str, str, pd.DataFrame]],
            figures: list[FigurePlan]) -> Pending:
    """A `Pending` section whose tables and figures are final and whose findings (`bullets`) await
    the correction."""
    return Pending(lambda verdicts: Section(bullets(verdicts), tables, figures))


def rule(claimed: str, effect: float = REFERENCE_EFFECT) -> str:
    """What counts as reproduced, contradicted and not detected for a claim that `claimed` (e.g.
    "the difference is below 0") by at least `effect` (`_stats.verdict`)."""
    return (f"**Reproduced** when {claimed} clearly (95% interval, jointly Holm-corrected with every "
            f"claim of both documents, at least {MIN_CLUSTERS} units); **contradicted** when the "
            f"difference is clearly on the other side of 0, or clearly smaller than the pre-registered "
            f"size {effect:.3f} in the claimed direction; otherwise **not detected**, stated with the "
            f"test's power to detect {effect:.3f} at the corrected level (0.05 over the number of claims: "
            "a lower bound under Holm's step-down).")


def param(rows: pd.DataFrame, params: Params, key: str, default: object = None) -> pd.Series:
    """The spec parameter `key` of each row's scenario (`default` where the spec does not set it)."""
    return rows["scenario"].map(lambda s: params[s].get(key, default))


def in_model_order(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """`table` (one row per model) sorted like the report's model order."""
    if table.empty:
        return table
    order = [m for m in model_order(rows) if m in set(table["model"])]
    return table.set_index("model").loc[order].reset_index()


def group_metrics(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Long frame (keys, model, paradigm, seed, metric, value) of the three shortcut metrics:
    worst-group accuracy and flip rate at `GROUP_SHIFT`, accuracy at the largest shift."""
    columns = [*keys, "model", "paradigm", "seed"]
    middle, last = at_level(rows, GROUP_SHIFT), at_largest_shift(rows)
    parts = [part[columns].assign(metric=label, value=part[column].to_numpy())
             for label, part, column in ((WGA, middle, "worst_group_accuracy"),
                                         (FLIP, middle, "spurious_reliance"), (SHIFTED, last, "accuracy"))]
    return pd.concat(parts, ignore_index=True).dropna(subset=["value"])


def fit_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per fit: accuracy at shift 0 and at the largest shift, the README's drop (accuracy at shift 0
    minus accuracy at each shifted level, averaged over the scenario's shifted levels: the
    headline's `analysis.fit_outcomes` rule, paired within one fitted model), the loss at the
    largest shift alone (`loss_largest_shift`, not called a drop), and worst-group accuracy at
    `GROUP_SHIFT`."""
    keys = ["scenario", "model", "paradigm", "seed"]
    start = rows[rows["shift"] == 0].set_index(keys)["accuracy"].rename("accuracy_shift0")
    end = at_largest_shift(rows).set_index(keys)["accuracy"].rename("accuracy_largest_shift")
    wga = at_level(rows, GROUP_SHIFT).set_index(keys)["worst_group_accuracy"].rename("wga")
    shifted = rows.assign(drop=degradation(rows))
    drop = shifted[shifted["shift"] > 0].groupby(keys)["drop"].mean()
    fits = pd.concat([start, end, wga, drop], axis=1).reset_index()
    # Carry what `prepare.panel` selects on (shared by every row of a fit).
    panel_columns = rows.drop_duplicates(keys)[[*keys, *rows.columns.intersection(PANEL_COLUMNS)]]
    fits = fits.merge(panel_columns, on=keys, how="left")
    return fits.assign(loss_largest_shift=fits["accuracy_shift0"] - fits["accuracy_largest_shift"])


def common_n_train(rows: pd.DataFrame) -> int | None:
    """The largest n_train that every scenario of `rows` ran (None if they share none)."""
    sizes = [set(part["n_train"]) for _, part in rows.groupby("scenario")]
    common = set.intersection(*sizes) if sizes else set()
    return max(common) if common else None


def common_models(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the models that every scenario of `rows` ran."""
    per_model = rows.groupby("model")["scenario"].nunique()
    return rows[rows["model"].isin(per_model.index[per_model == rows["scenario"].nunique()])]


def model_change(rows: pd.DataFrame, x: str, value: str) -> pd.DataFrame:
    """Per model: `value` at the smallest and at the largest `x`, and the change (Welch interval:
    different x values are different scenarios, so different data)."""
    lo, hi = rows[x].min(), rows[x].max()
    records = []
    for model, cell in rows.groupby("model", sort=False):
        start, end = cell.loc[cell[x] == lo, value], cell.loc[cell[x] == hi, value]
        diff, low, high = welch_difference(end, start)
        records.append({"model": model, "paradigm": cell["paradigm"].iloc[0], f"{x}_{lo:g}": start.mean(),
                        f"{x}_{hi:g}": end.mean(), "change": diff, "ci_low": low, "ci_high": high,
                        "n": min(start.count(), end.count())})
    return in_model_order(pd.DataFrame(records), rows)


def _listed(part: pd.DataFrame) -> str:
    return ", ".join(f"`{m}`" for m in part["model"]) or "none"


def change_sentence(changes: pd.DataFrame, what: str, x_label: str, expected: int,
                    verdicts: Verdicts = UNCORRECTED) -> str:
    """The per-learner verdicts on a claim that `what` moves in the direction `expected` from the
    smallest to the largest x (`model_change`: Welch intervals), counted and named."""
    learners = changes[changes["paradigm"] != "oracle"]
    found = pd.Series([verdict(r.change, r.ci_low, r.ci_high, int(r.n), expected, verdicts=verdicts)
                       for r in learners.itertuples()], index=learners.index, dtype=object)
    named = "; ".join(f"{word}: {_listed(learners[found.str.startswith(word)])}"
                      for word in ("reproduced", "not detected", "contradicted"))
    claimed = "rises" if expected > 0 else "falls"
    return (f"From the smallest to the largest {x_label}, {what} per learner (Welch; claim: it {claimed}): "
            f"{tally(list(found))} ({named}); changes {value_range(learners['change'])}.")


def paradigm_path(contrast: pd.DataFrame, x: str, label: str, expected: int,
                  verdicts: Verdicts = UNCORRECTED) -> str:
    """A paradigm contrast (`stats.paradigm_contrast` by `x`) from its smallest to its largest `x`,
    with the verdict at the largest on a claim that discriminative minus generative has the sign
    `expected`."""
    first, last = contrast.sort_values(x).iloc[[0, -1]].itertuples()
    found = judged(last.difference, last.ci_low, last.ci_high, last.n_seeds, expected, verdicts=verdicts)
    return (f"{label[0].upper()}{label[1:]} goes {first.generative:.3f} → {last.generative:.3f} "
            f"(generative) and {first.discriminative:.3f} → {last.discriminative:.3f} (discriminative) "
            f"from {x} {getattr(first, x):g} to {getattr(last, x):g}; at {getattr(last, x):g}, "
            f"discriminative minus generative "
            f"{found}")


def generative_groups_sentence(rows: pd.DataFrame, value: str, label: str) -> str:
    """A paradigm statement checked against both generative groups, as SCIENCE.md asks of any
    sentence about "the paradigm".

    `rows` hold one cell (e.g. the largest B at shift 0.5). Per generative group: the panel's
    discriminative mean minus the group's mean per seed, paired over seeds (95% t, uncorrected: a
    description, not a claim of the book), with every model the group's mean rests on. The sentence
    ends by saying whether the paradigm difference's sign holds clearly for both groups, one, or
    neither; "" when the cell lacks a paradigm.
    """
    kept = panel(rows)
    sides = kept.groupby(["seed", "paradigm"])[value].mean().unstack("paradigm")
    groups = kept.groupby(["seed", "group"])[value].mean().unstack("group")
    if not {"generative", "discriminative"} <= set(sides.columns):
        return ""
    sign = np.sign((sides["discriminative"] - sides["generative"]).mean())
    parts, holds, against = [], [], []
    for group in (g for g in GENERATIVE_GROUPS if g in groups.columns):
        diff = (sides["discriminative"] - groups[group]).dropna()
        low, high = interval(diff)
        models = kept[kept["group"] == group].groupby("model")[value].mean()
        named = ", ".join(f"`{m}` {v:.3f}" for m, v in models.items())
        parts.append(f"minus {group.replace('_', ' ')} {with_ci(diff.mean(), low, high)} ({named})")
        clear = len(diff) >= MIN_CLUSTERS and sign != 0 and np.sign(low) == np.sign(high)
        if clear:
            (holds if np.sign(low) == sign else against).append(group.replace("_", " "))
    if len(holds) == len(parts) == 2:
        verdict_text = "holds for both generative groups"
    elif holds and against:
        verdict_text = (f"holds for the {holds[0]} group only, and the {against[0]} group clearly goes the "
                        "other way: it is not a statement about the generative paradigm")
    elif holds:
        verdict_text = f"holds clearly for the {holds[0]} group only: the statement is about it"
    else:
        verdict_text = "holds clearly for neither generative group"
    return (f"{label[0].upper()}{label[1:]} by generative group (discriminative panel mean minus each group "
            f"per seed, 95% t, uncorrected): {'; '.join(parts)}. The paradigm difference's sign "
            f"{verdict_text}.")


def value_range(series: pd.Series) -> str:
    """"a to b" (or "a" when every value is the same)."""
    low, high = f"{series.min():.3f}", f"{series.max():.3f}"
    return low if low == high else f"{low} to {high}"


def best_of(means: pd.DataFrame, column: str = "accuracy") -> pd.Series:
    """The row of `means` with the largest `column` (ties: the first)."""
    return means.sort_values(column, ascending=False, kind="stable").iloc[0]


def shortcut_table(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Paradigm contrasts of the flip rate (`flip_*`) and worst-group accuracy (`wga_*`) at
    `GROUP_SHIFT`, per `by` cell."""
    middle = at_level(rows, GROUP_SHIFT)
    parts = []
    for prefix, column in (("flip", "spurious_reliance"), ("wga", "worst_group_accuracy")):
        contrast = paradigm_contrast(middle, column, by).set_index(by)
        parts.append(contrast.drop(columns="n_seeds").add_prefix(f"{prefix}_"))
    return pd.concat([*parts, contrast["n_seeds"]], axis=1).reset_index()


def contrast_sentence(row: object, prefix: str, label: str, expected: int,
                      verdicts: Verdicts = UNCORRECTED) -> str:
    """One `shortcut_table` row's contrast on `prefix` ("flip" or "wga"), with the verdict on a claim
    that discriminative minus generative has the sign `expected`."""
    low, high = getattr(row, f"{prefix}_ci_low"), getattr(row, f"{prefix}_ci_high")
    difference = getattr(row, f"{prefix}_difference")
    return (f"{label} generative {getattr(row, f'{prefix}_generative'):.3f}, discriminative "
            f"{getattr(row, f'{prefix}_discriminative'):.3f}, difference "
            f"{judged(difference, low, high, row.n_seeds, expected, verdicts=verdicts)}")
