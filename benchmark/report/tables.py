"""The report's tables, as tidy frames, and `build_tables`: every table of report.md in order, each
with the sentence that explains it (the renderer writes them as Markdown and CSV).

Per-model summaries average over scenarios the per-scenario means over seeds, at each scenario's
largest n_train; "largest shift" is each scenario's largest listed level, and scenarios that list
shift 0 only (learning-curve specs) are left out. A model that ran on
fewer scenarios (e.g. `+em` variants, only where priors shift) is averaged over those only,
which the `scenarios` column shows. Beside every accuracy stand the baselines: the Bayes and
invariant oracles' accuracy and the majority-class rate (always predicting the training majority)
on the same test samples, and, in label-shift scenarios (where the majority rate can beat a
model), balanced accuracy. Test-set-adapted (`+em`) variants are named as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from spurbench.evaluation import metrics
from spurbench.evaluation.fit_checks import CHANCE_FLOOR, CHANCE_SES
from spurbench.report import analysis, claims, conditions, mechanisms
from spurbench.report.prepare import (
    at_largest_n_train,
    at_largest_shift,
    model_order,
    ranked_name,
    robustness_against_panel,
    scenario_order,
    usable,
    with_oracle_references,
    with_shift_levels,
)
from spurbench.report.reproducible import rounded

LABEL_SHIFT = "label_shift"
BASELINES = ("bayes_accuracy", "invariant_accuracy", "majority_accuracy")
BASELINE_COLUMNS = [f"{b}_{at}" for at in ("shift0", "largest_shift") for b in BASELINES]


def _at(rows: pd.DataFrame, where: str) -> pd.DataFrame:
    return rows[rows["shift"] == 0] if where == "id" else at_largest_shift(rows)


def _per_scenario(rows: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Mean over seeds per (scenario, model)."""
    return rows.groupby(["scenario", "model"])[columns].mean()


def accuracy_by_scenario(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and model: accuracy and worst-group accuracy at shift 0 and largest shift."""
    rows = at_largest_n_train(with_shift_levels(usable(frame)))
    rows = rows.assign(balanced_accuracy=rows["balanced_accuracy"].where(rows["family"] == LABEL_SHIFT))
    columns = ["accuracy", "worst_group_accuracy", "balanced_accuracy", *BASELINES]
    start = _per_scenario(_at(rows, "id"), columns).add_suffix("_shift0")
    end = _per_scenario(_at(rows, "largest"), columns).add_suffix("_largest_shift")
    table = start.join(end, how="outer").reset_index()
    table.insert(2, "paradigm", table["model"].map(rows.groupby("model")["paradigm"].first()))
    table["accuracy_drop"] = table["accuracy_shift0"] - table["accuracy_largest_shift"]
    table["worst_group_drop"] = (table["worst_group_accuracy_shift0"]
                                 - table["worst_group_accuracy_largest_shift"])
    ranks = {"scenario": scenario_order(rows), "model": model_order(rows)}
    table = table.sort_values(["scenario", "model"], key=lambda c: c.map(
        {name: i for i, name in enumerate(ranks[c.name])}))
    table = table.assign(model=table["model"].map(ranked_name))
    return table[["scenario", "model", "paradigm", "accuracy_shift0", "accuracy_largest_shift",
                  "accuracy_drop", "worst_group_accuracy_shift0", "worst_group_accuracy_largest_shift",
                  "worst_group_drop", "balanced_accuracy_shift0", "balanced_accuracy_largest_shift",
                  *BASELINE_COLUMNS]].reset_index(drop=True)


def _mean_over_scenarios(per_scenario: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (in report order): paradigm, number of scenarios and the mean of each column."""
    values = per_scenario.drop(columns=["scenario", "paradigm"], errors="ignore")
    table = values.groupby("model").mean()
    table.insert(0, "scenarios", per_scenario.groupby("model")["scenario"].nunique())
    paradigm = usable(frame).groupby("model")["paradigm"].first()
    table.insert(0, "paradigm", paradigm.rename(ranked_name))
    models = [ranked_name(m) for m in model_order(usable(frame)) if ranked_name(m) in table.index]
    return table.loc[models].reset_index()


def model_accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model: accuracy and worst-group accuracy at shift 0 and at the largest shift, and drops."""
    per_scenario = accuracy_by_scenario(frame)
    columns = ["scenario", "model", "accuracy_shift0", "accuracy_largest_shift", "accuracy_drop",
               "worst_group_accuracy_shift0", "worst_group_accuracy_largest_shift",
               "balanced_accuracy_largest_shift", *BASELINE_COLUMNS]
    return _mean_over_scenarios(per_scenario[columns], frame)


def robustness(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model: normalised AUC, effective robustness, oracle gaps, ECE and spurious reliance."""
    rows = at_largest_n_train(with_shift_levels(usable(frame)))
    auc = metrics.normalised_auc(rows).groupby(["scenario", "model"])["accuracy_nauc"].mean()
    shifted = at_largest_shift(rows)
    er = robustness_against_panel(rows).set_index(["scenario", "model"])
    gaps = _per_scenario(shifted.join(metrics.oracle_gaps(shifted)), ["bayes_gap", "invariant_gap"])
    parts = [
        auc.rename("nauc"),
        er["effective_robustness"],
        gaps.add_suffix("_largest_shift"),
        _per_scenario(_at(rows, "id"), ["ece"])["ece"].rename("ece_shift0"),
        _per_scenario(shifted, ["ece", "spurious_reliance"]).add_suffix("_largest_shift"),
    ]
    per_scenario = pd.concat(parts, axis=1).reset_index()
    return _mean_over_scenarios(per_scenario.assign(model=per_scenario["model"].map(ranked_name)), frame)


def oracle_auc(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised AUC per model and scenario (the heat map's numbers), oracle references included."""
    rows = at_largest_n_train(with_shift_levels(with_oracle_references(usable(frame))))
    auc = metrics.normalised_auc(rows).groupby(["model", "scenario"])["accuracy_nauc"].mean()
    table = auc.unstack("scenario")
    return table.reindex(index=model_order(rows),
                         columns=[s for s in scenario_order(rows) if s in table.columns]).reset_index()


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Failed fits per model and scenario, with the first error message."""
    failed = frame[frame["status"] != "ok"]
    fits = failed.drop_duplicates(metrics.FIT_KEYS)
    return fits.groupby(["model", "scenario"], as_index=False).agg(
        failed_fits=("seed", "size"), first_error=("error", "first"))


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    explanation: str
    frame: pd.DataFrame
    folded: bool = False

    def __post_init__(self) -> None:
        # At the precision its CSV is written with, so the sentences read what the CSV holds.
        object.__setattr__(self, "frame", rounded(self.frame))


def build_tables(frame: pd.DataFrame) -> list[Table]:
    """Every table of the report, in order, each with the sentence that explains it."""
    return [
        Table("model_accuracy", "Accuracy at shift 0 and at the largest shift",
              "Each model's accuracy and worst-group accuracy in distribution and at each scenario's "
              "largest shift, and the drop between them (means over seeds, then over scenarios).",
              model_accuracy(frame)),
        Table("accuracy_by_scenario", "Accuracy per scenario",
              "The same numbers per scenario (means over seeds).",
              accuracy_by_scenario(frame), folded=True),
        Table("robustness", "Robustness, oracle gaps, calibration and spurious reliance",
              "Normalised area under accuracy vs shift, effective robustness, gaps to the Bayes and "
              "invariant oracles, ECE and counterfactual flip rate (means over scenarios).",
              robustness(frame)),
        Table("effects", "Paradigm, group and pre-registered pair contrasts (family-level estimates)",
              "Each contrast (first minus second) on each co-primary metric: the mixed model's intercept "
              "over per-(scenario, seed) differences with its 95% interval (or the stated fallback in "
              "`method`; `clusters`: the units the interval rests on); `best on validation` compares the "
              "best model of each side chosen per scenario on validation accuracy; `flagged = included` "
              "is the sensitivity analysis. p-values are unadjusted; the text's clear calls are "
              "Holm-corrected.", analysis.effects(frame)),
        Table("by_mechanism", "Paradigm and group contrasts by mechanism",
              "Each paradigm and group contrast on each co-primary metric within each mechanism (real "
              "tables, unseen domains, Bayesian networks, synthetic; 0-1 scale): the mean of family means "
              "with a 95% t-interval over the mechanism's families; descriptive, uncorrected p-values; "
              f"`note` marks an interval from fewer than {claims.MIN_CLUSTERS} families, not called.",
              mechanisms.by_mechanism(frame)),
        Table("conditions_by_source", "Where each paradigm wins, by source",
              "Discriminative minus generative accuracy at the largest shift (points) per source of data, "
              "over the headline suite: the mean of family means with a 95% t-interval over families, and "
              "in how many families discriminative is ahead.",
              conditions.by_source(conditions.scenario_table(frame))),
        Table("meta_regression", "Meta-regression of the paradigm difference on family traits",
              "Weighted least squares (families weigh equally), standard errors clustered by family, t "
              "intervals on families - 1 degrees of freedom; exploratory. Accuracy points at the largest "
              "shift, discriminative minus generative.",
              conditions.meta_regression(conditions.scenario_table(frame))),
        Table("conditions", "Paradigm difference and traits per headline scenario",
              "The meta-regression's rows: difference (0-1 scale), source, discrete, features, "
              "log10(n / d) and the shortcut strength (Bayes minus invariant accuracy at shift 0, points).",
              conditions.scenario_table(frame), folded=True),
        Table("scenario_gaps", "Paradigm gap in drop per scenario",
              "Discriminative minus generative drop per scenario (mean over seeds, 95% t-interval): the "
              "forest plot's numbers.", analysis.scenario_gaps(analysis.paradigm_drop_differences(frame)),
              folded=True),
        Table("best_models", "Best model of each paradigm and group per scenario",
              "Chosen on mean validation accuracy over seeds (never on test draws).",
              analysis.best_models(frame), folded=True),
        Table("exclusions", "Flagged fits",
              "Panel fits per model and flag, and the rows the exclusion rule (`chance_fit`: "
              f"validation accuracy less than max({CHANCE_FLOOR:g}, {CHANCE_SES:g} binomial SEs) above "
              "the validation sample's majority rate; `singular_covariance`) removes from paradigm "
              "and group averages.",
              analysis.exclusions(frame)),
        Table("normalised_auc", "Normalised area under accuracy vs shift per scenario",
              "The heat map's numbers: per model and scenario, the trapezoid area under accuracy vs "
              "shift divided by the shift range (oracle rows included).",
              oracle_auc(frame), folded=True),
        Table("failures", "Failed fits", "Fits that raised an error, per model and scenario, with "
              "the first message; their rows are excluded from every statistic.",
              failures(frame)),
    ]
