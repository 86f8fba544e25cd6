"""Experiment 2, spurious strength: as the training correlation of an easy (low-noise) or a hard
(high-noise) spurious feature grows, which paradigm relies on it more?

Scenarios differ only in `train_correlation` and `spurious_separation`; reliance is measured by the
counterfactual flip rate and by worst-group accuracy (both at shift 0.5), and its cost by the
accuracy once the correlation is reversed (shift 1). The claim tested (`CLAIM`) is the one the
project's central question rests on, at the strongest training correlation of each separation,
where the shortcut tempts most; the weaker correlations are shown, not tested.
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
    contrast_sentence,
    generative_groups_sentence,
    group_metrics,
    param,
    pending,
    rule,
    shortcut_table,
)
from spurbench.report.experiments._stats import at_level

BY = ["spurious_separation", "train_correlation"]
CLAIM = (
    "Published claim (Li, Kumar & Pathak, ICLR 2025, \"Generative classifiers avoid shortcut "
    "solutions\"): generative classifiers rely less on a spurious feature than discriminative ones. "
    "Pre-registered test, at the strongest training correlation of each spurious separation (easy and "
    "hard): the panel's paradigm means per seed, discriminative minus generative, paired over seeds, "
    "of the counterfactual flip rate at shift 0.5 (claimed above 0) and of worst-group accuracy at "
    "shift 0.5 (claimed below 0), each by at least the pre-registered 0.020. "
    + rule("the difference has the claimed sign"))


def _bullets(table: pd.DataFrame, rows: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    lines = []
    middle = at_level(rows, GROUP_SHIFT)
    for sep in sorted(table["spurious_separation"].unique(), reverse=True):
        part = table[table["spurious_separation"] == sep].sort_values("train_correlation")
        lo, hi = part.iloc[0], part.iloc[-1]
        cell = middle[(middle["spurious_separation"] == sep)
                      & (middle["train_correlation"] == hi.train_correlation)]
        lines.append(
            f"Spurious separation {sep:g}: from training correlation {lo.train_correlation:g} to "
            f"{hi.train_correlation:g} the flip rate goes {lo.flip_generative:.3f} → "
            f"{hi.flip_generative:.3f} (generative) and {lo.flip_discriminative:.3f} → "
            f"{hi.flip_discriminative:.3f} (discriminative); "
            f"worst-group accuracy {lo.wga_generative:.3f} → {hi.wga_generative:.3f} and "
            f"{lo.wga_discriminative:.3f} → {hi.wga_discriminative:.3f}. At {hi.train_correlation:g} "
            f"(pre-registered; claim: the generative flip rate lower, its worst-group accuracy higher): "
            f"{contrast_sentence(hi, 'flip', 'flip rate', 1, verdicts)}; "
            f"{contrast_sentence(hi, 'wga', 'worst-group accuracy', -1, verdicts)}.")
        lines.append(generative_groups_sentence(cell, "worst_group_accuracy", f"spurious separation {sep:g}, "
                                                f"worst-group accuracy at {hi.train_correlation:g}"))
    return [line for line in lines if line]


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    rows = rows.assign(**{key: param(rows, params, key) for key in BY})
    table = shortcut_table(rows, BY)
    long = group_metrics(rows, BY)
    long["shortcut"] = long["spurious_separation"].map(lambda s: f"spurious separation {s:g}")
    order = [f"spurious separation {s:g}" for s in sorted(long["spurious_separation"].unique(), reverse=True)]
    return pending(
        lambda verdicts: _bullets(table, rows, verdicts) if not table.empty else [],
        tables=[("spurious_strength", "Flip rate and worst-group accuracy at shift 0.5 per paradigm "
                 "(discriminative minus generative, 95% t-interval over seeds)", table)],
        figures=[FigurePlan(
            "exp_spurious_strength", "Worst-group accuracy and counterfactual flip rate at shift 0.5, and "
            "accuracy at shift 1 (correlation reversed), versus the training correlation, for an easy (large "
            "separation) and a hard (small separation) spurious feature; 95% t-bands over seeds.",
            lambda: plots.facet_lines(long, "train_correlation", "training correlation", "shortcut", order,
                                      row="metric", row_order=list(SHORTCUT_METRICS)))])


EXPERIMENT = Experiment(
    2, "spurious_strength", "Spurious strength sweep",
    "As the training correlation of an easy or a hard spurious feature grows, which paradigm "
    "relies on it more?",
    analyse, claim=CLAIM)
