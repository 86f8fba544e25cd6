"""Selections and orderings every part of the report shares, so tables and figures agree.

Conventions (each stated once, here):
* failed fits (status "error") carry NaN metrics and are dropped from every statistic; the
  report counts them separately;
* shift-based summaries use each scenario's largest n_train (the best-trained models);
* who counts is decided once, by `panel`: averages over models (paradigm and group statistics,
  the leaderboard's ranking and means, the line of effective robustness) read the rows it
  returns. No oracle, no model tagged `reference` (column `reference == 1`), no
  `<model>+<how>` variant (`+em` is prior-adapted on the unlabelled test sample, which no other
  model sees: "test-set-adapted" wherever it is ranked), no model trained with group labels;
* balanced panels: a scenario enters an average only when it ran every panel model the frame
  holds (an experiment sweep that runs a few of them, such as the phase diagram's linear pairs,
  serves its own experiment and stays out of averages over other scenarios); `panel` applies it;
* the exclusion rule: fits flagged `chance_fit` or `singular_covariance` (`EXCLUDED_FLAGS`) are
  left out of those averages; `not_converged` fits stay in. Every statistic is also reported with
  them included (the sensitivity analysis);
* models are ordered by paradigm (generative, discriminative, oracle) then name; scenarios by
  family then name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from spurbench.evaluation import metrics
from spurbench.registry import list_models

PARADIGM_ORDER = ("generative", "discriminative", "oracle")
ADAPTED_SUFFIX = "+em"
VARIANT_MARK = "+"  # `<model>+<how>`: rows scored from another model's fit
ORACLE_COLUMNS = {"bayes_oracle": "bayes_accuracy", "invariant_oracle": "invariant_accuracy"}
EXCLUDED_FLAGS = ("chance_fit", "singular_covariance")
TEST_ADAPTED = "test-set-adapted"
# Whether a row's model is trained with group labels, as the run recorded it (`with_recorded_tags`).
GROUP_TRAINED = "trained_with_groups"
# Whether a row's scenario is in the declared headline suite, as the run recorded it (`run.json`).
HEADLINE = "in_headline_suite"
# What `panel` and `learners` select on besides model and paradigm (a fit's rows share them).
PANEL_COLUMNS = ("reference", "fit_flags", GROUP_TRAINED)


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """The successful rows."""
    return frame[frame["status"] == "ok"]


def at_largest_n_train(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose n_train is the largest of their scenario."""
    return frame[frame["n_train"] == frame.groupby("scenario")["n_train"].transform("max")]


def at_largest_shift(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose shift is the largest level of their scenario."""
    return frame[frame["shift"] == frame.groupby("scenario")["shift"].transform("max")]


def with_shift_levels(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the scenarios that list more than one shift level (others are learning-curve only)."""
    return frame[frame.groupby("scenario")["shift"].transform("nunique") > 1]


def learners(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the base learners: no oracle, no variant scored from another model's fit
    (`<model>+em`, `<model>+drop_spurious`, ...), no model trained with group labels."""
    variant = frame["model"].str.contains(VARIANT_MARK, regex=False)
    tagged = frame if GROUP_TRAINED in frame else with_recorded_tags(frame, {})  # no record: the registry
    return frame[(frame["paradigm"] != "oracle") & ~variant & ~tagged[GROUP_TRAINED].astype(bool)]


def models_trained_with_groups(names: Iterable[str]) -> set[str]:
    """The registered models among `names` that receive training group labels (tag `groups`):
    they answer what group labels buy, so only the experiment about that reads them."""
    known = {entry.name: entry for entry in list_models()}
    return {name for name in names if name in known and "groups" in known[name].tags}


def with_recorded_tags(rows: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """`rows` with `GROUP_TRAINED`, whether each row's model receives group labels, as the run
    recorded its models' tags (`run.json`): the report reads the run's models, not the registry of
    the process that draws it (which need not hold a plugin's models, and costs importing every
    estimator). Models the run did not record are looked up in the registry."""
    recorded = {entry["name"]: "groups" in entry.get("tags", ()) for entry in meta.get("models", ())}
    names = rows["model"].unique()
    unrecorded = [name for name in names if name not in recorded and VARIANT_MARK not in name]
    trained = {name for name, groups in recorded.items() if groups}
    trained |= models_trained_with_groups(unrecorded) if unrecorded else set()
    suite = {entry["name"] for entry in meta.get("scenarios", ()) if entry.get("headline")}
    in_suite = rows["scenario"].isin(suite) if "scenario" in rows else False
    return rows.assign(**{GROUP_TRAINED: rows["model"].isin(trained), HEADLINE: in_suite})


def headline_suite(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of the declared headline suite, which the primary and secondary claims read; every
    row when the run holds none of it (a quick run, a user's own scenarios): the report then says
    so (`suite_note`)."""
    if HEADLINE not in frame or not frame[HEADLINE].any():
        return frame
    return frame[frame[HEADLINE]]


def suite_note(frame: pd.DataFrame) -> str:
    """Which scenarios the headline reads, in words."""
    if HEADLINE not in frame or not frame[HEADLINE].any():
        return ("This run holds no scenario of the declared headline suite, so the headline reads "
                "every scenario with shift levels.")
    suite = frame[frame[HEADLINE]]
    return (f"The headline reads the declared headline suite: {suite['scenario'].nunique()} scenarios "
            f"in {suite['family'].nunique()} families (`headline = true` in their specs, at most three "
            "per family, chosen before the run); experiment sweeps serve their experiments.")


def fit_flags(frame: pd.DataFrame) -> pd.Series:
    """Each row's `fit_flags` as text, "" where none (the CSV reads an empty field as missing)."""
    return frame["fit_flags"].map(lambda value: value if isinstance(value, str) else "")


def excluded(frame: pd.DataFrame) -> pd.Series:
    """Whether each row's fit carries a flag of `EXCLUDED_FLAGS` (the stated exclusion rule)."""
    flagged = fit_flags(frame).map(lambda text: any(name in EXCLUDED_FLAGS for name in text.split(",")))
    return flagged.astype(bool)  # an empty frame's map has no dtype to infer


def panel(frame: pd.DataFrame, include_flagged: bool = False) -> pd.DataFrame:
    """The rows that enter an average over models (the one place that decides it; see the module
    docstring): panel learners (`learners` whose `reference` is 0) of the scenarios that ran every
    panel model the frame holds, flagged fits excluded unless `include_flagged` (the sensitivity
    analysis)."""
    rows = learners(frame)
    rows = rows[rows["reference"].fillna(0).astype(int) == 0]
    if "scenario" in rows:  # balanced panels: every scenario ran them all
        rows = rows[rows.groupby("scenario")["model"].transform("nunique") == rows["model"].nunique()]
    return rows if include_flagged else rows[~excluded(rows)]


ER_CELL = ["scenario", "n_train", "shift"]  # one probit line per scenario, n_train and shifted level


def robustness_against_panel(frame: pd.DataFrame) -> pd.DataFrame:
    """Every model's effective robustness at each scenario's largest shift and n_train, against
    one line per scenario: the probit fit through the panel's points (`panel`), whatever else
    `frame` holds, so the tables, the figure and the experiment measure against the same line.

    A model's point is the mean over the rows of it that `frame` holds: pass `panel(rows)` to
    average the panel's robustness, all successful rows to show every model's (its flagged fits
    included, as in the other per-model tables). The columns, the fit and the prediction are
    `metrics.effective_robustness`'s (which fits its line through whatever non-oracle rows it is
    given): the line is taken from the panel's rows and applied to every point here.
    """
    rows = at_largest_n_train(with_shift_levels(frame))
    points = metrics.effective_robustness(rows)
    coefficients = ["slope", "intercept"]
    line = metrics.effective_robustness(panel(rows)).drop_duplicates(ER_CELL)[[*ER_CELL, *coefficients]]
    out = points.drop(columns=coefficients).merge(line, on=ER_CELL, how="left")
    predicted = special.ndtr(out["intercept"] + out["slope"] * metrics.probit(out["in_distribution"]))
    out = out.assign(predicted=predicted, effective_robustness=out["shifted"] - predicted)
    return at_largest_shift(out[points.columns])


def ranked_name(model: str) -> str:
    """A model's name as rankings show it: `+em` variants are marked test-set-adapted."""
    return f"{model} ({TEST_ADAPTED})" if model.endswith(ADAPTED_SUFFIX) else model


def as_ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` for rankings: `+em` rows named test-set-adapted and ranked with the reference rows
    (the harness gives them their base model's `reference`, but they saw the unlabelled test set)."""
    adapted = frame["model"].str.endswith(ADAPTED_SUFFIX)
    return frame.assign(model=frame["model"].map(ranked_name),
                        reference=frame["reference"].where(~adapted, 1))


def scenario_order(frame: pd.DataFrame) -> list[str]:
    """Scenarios sorted by family, then name."""
    pairs = frame[["family", "scenario"]].drop_duplicates().sort_values(["family", "scenario"])
    return pairs["scenario"].tolist()


def paradigms(frame: pd.DataFrame) -> dict[str, str]:
    """Model name -> paradigm."""
    return dict(frame[["model", "paradigm"]].drop_duplicates().itertuples(index=False))


def model_order(frame: pd.DataFrame) -> list[str]:
    """Models grouped by paradigm in `PARADIGM_ORDER`, then by name (a `+em` variant follows its base)."""
    rank = {p: i for i, p in enumerate(PARADIGM_ORDER)}
    pairs = sorted(paradigms(frame).items(), key=lambda mp: (rank.get(mp[1], len(rank)), mp[0]))
    return [model for model, _ in pairs]


def with_oracle_references(frame: pd.DataFrame) -> pd.DataFrame:
    """Add oracle rows built from the oracle accuracy columns where no oracle model ran.

    The harness runs `bayes_oracle` / `invariant_oracle` only on families with a known density;
    elsewhere (real data) the `invariant_accuracy` column still holds a reference (each model
    retrained on the core columns), so its mean over models stands in as the invariant oracle's
    accuracy. Only accuracy is synthesised; the other metrics of those rows stay NaN.
    """
    keys = ["scenario", "family", "shift", "seed", "n_train"]
    added = []
    for oracle, column in ORACLE_COLUMNS.items():
        ran = frame.loc[frame["model"] == oracle, "scenario"].unique()
        rest = frame[~frame["scenario"].isin(ran) & (frame["paradigm"] != "oracle")]
        means = rest.groupby(keys, as_index=False)[column].mean().dropna(subset=[column])
        added.append(means.rename(columns={column: "accuracy"}).assign(
            model=oracle, paradigm="oracle", status="ok"))
    return pd.concat([frame, *added], ignore_index=True)


def t_interval(values: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (a point when fewer than two values)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    mean = values.mean() if len(values) else np.nan
    if len(values) < 2:
        return mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean - half, mean + half
