"""Which figures report.md shows, in order, with their captions; `draw` builds one under the style.

The main figure comes first: the four group means (`summaries.group_summary`); per-model detail
follows in figures of one panel per scenario (`per_family`), each panel the four group means and
the best model of each group (every model's own curve is in report.html), families packed
together in natural name order (numbers sort as numbers) up to `MAX_PANELS` panels a figure (a
larger family has its figure to itself). A per-family figure covers only the families where its
metric was measured at more than one shift level, and is named after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.pyplot as plt
import pandas as pd
from spurbench.report import conditions, style, summaries
from spurbench.report.figures import NotEnoughData, auc_heatmap, spurious_importance
from spurbench.report.group_figures import (
    calibration,
    degradation_accuracy,
    degradation_worst_group,
    effective_robustness,
    learning_curves_id,
    learning_curves_shifted,
    models_by_group,
    spurious_reliance,
)
from spurbench.report.prepare import usable


@dataclass(frozen=True)
class FigureSpec:
    name: str
    caption: str
    build: Callable[[pd.DataFrame], plt.Figure]
    per_family: bool = False
    measured: str = "accuracy"  # the column a per-family figure draws against shift
    row_per_family: bool = False  # a family is a row of panels: `MAX_FAMILY_ROWS` a figure


@dataclass(frozen=True)
class Plan:
    """One figure file to draw: its name, caption and the rows it is drawn from."""

    name: str
    caption: str
    build: Callable[[pd.DataFrame], plt.Figure]
    rows: pd.DataFrame


MAX_PANELS = 15  # scenario panels of a per-family figure (three rows of five)
MAX_FAMILY_ROWS = 6  # families of a figure that gives each a row


def family_pages(frame: pd.DataFrame, row_per_family: bool = False) -> list[list[str]]:
    """The families of `frame` in natural name order, grouped into figures of at most
    `MAX_PANELS` scenarios (a family with more has a figure of its own), or of `MAX_FAMILY_ROWS`
    families when each is a row."""
    pages: list[list[str]] = []
    panels = 0
    sizes = frame.groupby("family")["scenario"].nunique()
    limit = MAX_FAMILY_ROWS if row_per_family else MAX_PANELS
    for family in sorted(sizes.index, key=style.natural_key):
        size = 1 if row_per_family else sizes[family]
        if not pages or panels + size > limit:
            pages.append([])
            panels = 0
        pages[-1].append(family)
        panels += size
    return pages


def _measured(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rows of the scenarios where `column` was measured at more than one shift level (the
    shift curves' scenarios)."""
    rows = usable(frame).dropna(subset=[column])
    return rows[rows.groupby("scenario")["shift"].transform("nunique") > 1]


def _file_name(families: str) -> str:
    """`families` as part of a file name every system and tool accepts: a family's `kind:name`
    (`table:abalone`) loses its colon (`table-abalone`)."""
    return families.replace(":", "-")


def plans(frame: pd.DataFrame) -> list[Plan]:
    """Every figure file of the report, in order: per-family specs become one file per page of
    families (`family_pages`), named after its family, or its first and last."""
    out = []
    for spec in FIGURES:
        if not spec.per_family:
            out.append(Plan(spec.name, spec.caption, spec.build, frame))
            continue
        for page in family_pages(_measured(frame, spec.measured), spec.row_per_family):
            name = _file_name(page[0] if len(page) == 1 else f"{page[0]}_to_{page[-1]}")
            which = f"Family `{page[0]}`." if len(page) == 1 else (
                "Families " + ", ".join(f"`{family}`" for family in page) + ".")
            out.append(Plan(f"{spec.name}_{name}", f"{spec.caption} {which}", spec.build,
                            frame[frame["family"].isin(page)]))
    return out


GROUPS_SHOWN = ("the mean of each model group (panel models, flagged fits excluded; band: 95% t-interval "
                "over seeds) and the best model of each group on validation accuracy over the figure's "
                "scenarios (thin line with stars, named in the legend). Every model's own curve is in "
                "report.html.")
FIGURES = (
    FigureSpec("conditions", "Where each paradigm wins: per family of the headline suite, discriminative "
               "minus generative accuracy at the largest shift (panel means; positive: discriminative "
               "ahead), coloured by source, with each source's estimate and 95% interval over families "
               "below.", conditions.draw),
    FigureSpec("group_summary", "Accuracy versus shift level per family: the mean of each model group "
               "(panel models, flagged fits excluded, largest n_train; band: 95% t-interval over seeds), the "
               "best model of each group chosen on validation accuracy (thin line with stars; names in the "
               "best-model table), the Bayes and invariant oracles and the majority-class rate. Each point "
               "averages the same scenarios: only levels every scenario of the family lists are drawn.",
               summaries.group_summary),
    FigureSpec("forest_drop", "Discriminative minus generative drop per family (its scenarios in brackets): "
               "the mean over its scenarios with a 95% t-interval over them (over seeds for a family of one "
               "scenario), each scenario's mean over seeds as a grey dot, and the family-level estimate "
               "(diamond).", summaries.forest),
    FigureSpec("paradigm_summary", "Mean accuracy drop from shift 0 per paradigm and family (panel models, "
               "largest n_train; band: 95% t-interval over seeds; only levels every scenario of the family "
               "lists).", summaries.paradigm_summary),
    FigureSpec("models_by_group", "Every panel model's accuracy versus shift level, a row per family and a "
               "panel per group (mean over the family's scenarios of the mean over seeds, largest n_train, "
               "levels every scenario of the family lists; grey dashes: Bayes oracle).", models_by_group,
               per_family=True, row_per_family=True),
    FigureSpec("degradation_accuracy", "Accuracy versus shift level per scenario (largest n_train): "
               f"{GROUPS_SHOWN} Grey: Bayes and invariant oracles and the majority-class rate.",
               degradation_accuracy, per_family=True),
    FigureSpec("degradation_worst_group", "Worst-group accuracy versus shift level per scenario (largest "
               f"n_train): {GROUPS_SHOWN}", degradation_worst_group, per_family=True,
               measured="worst_group_accuracy"),
    FigureSpec("effective_robustness", "Accuracy at shift 0 versus at the largest shift on probit axes, "
               "one panel per family (largest n_train): per scenario, the mean of each model group's panel "
               "models (one point per group) and the family's best model of each group on validation "
               "accuracy (star); solid: the line fitted through each scenario's panel fits, dotted: no "
               "degradation.",
               effective_robustness),
    FigureSpec("learning_curves_id", f"Accuracy at shift 0 versus training size (log scale): {GROUPS_SHOWN}",
               learning_curves_id),
    FigureSpec("learning_curves_shifted", "Accuracy at the largest shift versus training size (log scale): "
               f"{GROUPS_SHOWN}", learning_curves_shifted),
    FigureSpec("spurious_reliance", "Share of predictions that flip when only the spurious attribute is "
               f"flipped, versus shift level: {GROUPS_SHOWN}", spurious_reliance, per_family=True,
               measured="spurious_reliance"),
    FigureSpec("spurious_importance", "Share of each panel model's feature importance on the spurious "
               "features (mean over shifts and seeds at the largest n_train, then over the family's "
               "scenarios).", spurious_importance),
    FigureSpec("calibration", "Expected calibration error (15 equal-width bins) versus shift level: "
               f"{GROUPS_SHOWN}", calibration, per_family=True, measured="ece"),
    FigureSpec("auc_heatmap", "Normalised area under the accuracy-versus-shift curve of each panel model "
               "(mean over seeds at the largest n_train, then over the family's scenarios): 1 is perfect at "
               "every level. Variants and reference models are in the tables.", auc_heatmap),
)


def draw(plan: Plan) -> plt.Figure:
    """Build one figure under the report style."""
    if usable(plan.rows).empty:
        raise NotEnoughData("no successful fit")
    with plt.style.context(style.STYLE):
        return plan.build(plan.rows)
