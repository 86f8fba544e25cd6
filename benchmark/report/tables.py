"""The report's tables, as tidy frames (the renderer writes them as Markdown and CSV).

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

import pandas as pd
from spurbench.evaluation import metrics
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
