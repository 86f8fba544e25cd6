"""The paper experiments (issue 8): each reads its scenarios from a run, draws its figures and
states what it found, by fixed rules from the numbers; `render.write_report` writes them to
`RUN/experiments.md`.

A scenario belongs to an experiment through `experiment = "<tag>"` in its spec, recorded in
`run.json`; "accuracy on the line" reads every scenario with a shift. One module per experiment
(`exp_<name>.py`); `exp_common` holds what they share, `exp_stats` the statistics they state their
findings with and `exp_plots` the figure builders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from benchmark.report import (
    exp_label_shift,
    exp_missing_features,
    exp_misspecification,
    exp_on_the_line,
    exp_sample_efficiency,
    exp_spurious_scale,
    exp_spurious_strength,
    exp_subpopulation,
)
from benchmark.report.exp_common import FigurePlan, Params, Section
from benchmark.report.prepare import with_shift_levels

__all__ = ["EXPERIMENTS", "Experiment", "FigurePlan", "Section", "experiment_params"]


@dataclass(frozen=True)
class Experiment:
    """One paper experiment: the tag of its scenarios (None: every scenario), an optional further
    selection of their rows, and its analysis."""

    tag: str | None
    title: str
    question: str
    analyse: Callable[[pd.DataFrame, Params], Section]
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def rows(self, frame: pd.DataFrame, params: Params) -> pd.DataFrame:
        """The rows of `frame` this experiment reads: its scenarios', then `select`."""
        rows = frame[frame["scenario"].isin(params)]
        return rows if self.select is None else self.select(rows)


EXPERIMENTS = (
    Experiment("sample_efficiency", "Sample efficiency (Ng & Jordan, 2001)",
               "Does naive Bayes reach its (higher) asymptotic error with fewer examples than logistic "
               "regression, so that the learning curves cross?", exp_sample_efficiency.analyse),
    Experiment("spurious_strength", "Spurious strength sweep",
               "As the training correlation of an easy or a hard spurious feature grows, which paradigm "
               "relies on it more?", exp_spurious_strength.analyse),
    Experiment("subpopulation_shift", "Subpopulation shift and over-parameterisation",
               "Which models keep the rare groups right, and do extra noise dimensions make it worse (Sagawa "
               "et al., 2020)?", exp_subpopulation.analyse),
    Experiment("misspecification", "Misspecification",
               "Where generative models' assumptions break, do they lose their robustness?",
               exp_misspecification.analyse),
    Experiment("label_shift", "Label shift and EM prior adaptation",
               "How much does re-estimating the class prior by EM recover, for each paradigm?",
               exp_label_shift.analyse),
    Experiment("missing_features", "Missing features",
               "Does marginalising missing features beat mean imputation as the missing fraction grows?",
               exp_missing_features.analyse),
    Experiment("spurious_scale", "Spurious scale",
               "As the spurious feature's separation grows by a factor B, how does each paradigm's "
               "worst-group accuracy move?", exp_spurious_scale.analyse),
    Experiment(None, "Accuracy on the line",
               "Within each family, is shifted accuracy a function of in-distribution accuracy, and which "
               "paradigm sits above the line?", exp_on_the_line.analyse, select=with_shift_levels),
)


def experiment_params(meta: dict, tag: str | None) -> Params:
    """Scenario name -> params for the run's scenarios tagged `tag` (every scenario for None)."""
    return {s["name"]: s.get("params", {}) for s in meta.get("scenarios", [])
            if tag is None or s.get("experiment") == tag}
