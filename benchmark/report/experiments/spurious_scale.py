"""Experiment 7, spurious scale: multiply the spurious feature's separation by a factor B at a fixed
training correlation; how does each paradigm's worst-group accuracy move with B?

The motivating contrast: a max-margin learner can lean harder on a shortcut whose margin grows,
while a generative model weighs a feature by its class-conditional statistics. B is each scenario's
`spurious_separation` over the smallest one in the experiment. The claim and its test are `CLAIM`;
each learner's change with B is shown with its Welch interval, not tested.
"""

from __future__ import annotations

import pandas as pd
from spurbench.report.claims import Verdicts
from spurbench.report.experiments import _plots as plots
from spurbench.report.experiments._common import (
    GROUP_SHIFT,
    SHORTCUT_METRICS,
    Experiment,
    FigurePlan,
    Params,
    Pending,
    generative_groups_sentence,
    group_metrics,
    model_change,
    paradigm_path,
    param,
    pending,
    rule,
    shortcut_table,
    value_range,
)
from spurbench.report.experiments._stats import at_level, paradigm_contrast

CLAIM = (
    "Published claim (the max-margin failure mode of Nagarajan, Andreassen & Neyshabur, ICLR 2021, "
    "against the generative classifiers of Li, Kumar & Pathak, ICLR 2025): a discriminative learner "
    "leans harder on a spurious feature whose margin grows, a generative one weighs it by its "
    "class-conditional statistics, so at a large margin the generative paradigm keeps the worst group "
    "better. Pre-registered test: worst-group accuracy at shift 0.5 at the largest B, the panel's "
    "discriminative minus generative mean per seed, paired over seeds, claimed below 0 by at least the "
    "pre-registered 0.020. " + rule("the difference is below 0"))


def _bullets(contrast: pd.DataFrame, table: pd.DataFrame, changes: pd.DataFrame,
             middle: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    ends = table.sort_values("B").iloc[[0, -1]]
    first, last = ends.iloc[0], ends.iloc[1]
    top = middle[middle["B"] == middle["B"].max()]
    return [
        paradigm_path(contrast, "B", "worst-group accuracy", -1, verdicts) + " (claim: generative higher).",
        generative_groups_sentence(top, "worst_group_accuracy", f"worst-group accuracy at B {last.B:g}"),
        f"The flip rate goes {first.flip_generative:.3f} → {last.flip_generative:.3f} (generative) and "
        f"{first.flip_discriminative:.3f} → {last.flip_discriminative:.3f} (discriminative) from B "
        f"{first.B:g} to {last.B:g}.",
        _changes(changes),
    ]


def _changes(changes: pd.DataFrame) -> str:
    """The per-learner changes with B, per paradigm (shown, not tested)."""
    learners = changes[changes["paradigm"] != "oracle"]
    ranges = "; ".join(f"{paradigm} {value_range(part['change'])}"
                       for paradigm, part in learners.groupby("paradigm", sort=True))
    return (f"Per learner, worst-group accuracy changes from the smallest to the largest B by {ranges} "
            "(Welch intervals in the table; no claim tested per learner).")


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    separation = param(rows, params, "spurious_separation")
    rows = rows.assign(B=separation / separation.min())
    middle = at_level(rows, GROUP_SHIFT)
    contrast = paradigm_contrast(middle, "worst_group_accuracy", ["B"])
    table = shortcut_table(rows, ["B"])
    changes = model_change(middle, "B", "worst_group_accuracy")
    long = group_metrics(rows, ["B"])
    return pending(
        lambda verdicts: ([b for b in _bullets(contrast, table, changes, middle, verdicts) if b]
                          if len(contrast) > 1 else []),
        tables=[("spurious_scale", "Flip rate and worst-group accuracy at shift 0.5 per paradigm and scale "
                 "factor B (discriminative minus generative, 95% t-interval over seeds)", table),
                ("spurious_scale_change", "Change of worst-group accuracy from the smallest to the largest "
                 "B, per model (Welch 95% interval)", changes)],
        figures=[FigurePlan(
            "exp_spurious_scale", f"Worst-group accuracy and flip rate at shift {GROUP_SHIFT:g}, and "
            "accuracy at shift 1, versus the factor B multiplying the spurious feature's separation (log "
            "axis; fixed training correlation); 95% t-bands over seeds.",
            lambda: plots.facet_lines(long, "B", "spurious scale B", "metric", list(SHORTCUT_METRICS),
                                      xscale="log"))])


EXPERIMENT = Experiment(
    7, "spurious_scale", "Spurious scale",
    "As the spurious feature's separation grows by a factor B, how does each paradigm's "
    "worst-group accuracy move?",
    analyse, claim=CLAIM)
