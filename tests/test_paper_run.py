"""The committed reference run (results/paper) holds what the design promises: every row's Bayes
accuracy at least its invariant accuracy (within 4 standard errors of the Monte-Carlo estimates),
at least 10 seeds in every scenario, the whole panel in every shifted scenario, at least 30
families of at least 3 shifted scenarios, real-data seeds that train on different rows, no
unflagged panel fit at chance, and `neural_flow` above chance on the digits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from spurbench.harness.store import read_results
from spurbench.registry import PANEL

PAPER = Path(__file__).resolve().parent.parent / "results" / "paper"
ROWS = read_results(PAPER)
RUN = json.loads((PAPER / "run.json").read_text())
OK = ROWS[ROWS["status"] == "ok"]


def test_bayes_accuracy_is_never_below_the_invariant_accuracy_beyond_four_standard_errors():
    rows = OK.dropna(subset=["bayes_accuracy", "invariant_accuracy", "bayes_accuracy_se",
                             "invariant_accuracy_se"])
    assert len(rows) > 10_000
    se = np.hypot(rows["bayes_accuracy_se"], rows["invariant_accuracy_se"])
    short = rows["invariant_accuracy"] - rows["bayes_accuracy"] - 4 * se
    assert (short <= 1e-12).all(), rows.loc[short > 1e-12, ["scenario", "shift"]].drop_duplicates()
    assert (rows["bayes_accuracy_se"] < 0.002).all()  # >= 200,000 draws where estimated


def test_every_scenario_has_at_least_ten_seeds():
    """The floor of test_designed_comparison: the scenarios added for more families run 10."""
    seeds = OK.groupby("scenario")["seed"].nunique()
    assert (seeds >= 10).all(), seeds[seeds < 10]


def test_every_shifted_scenario_ran_the_whole_panel():
    """Experiment sweeps outside the headline that run part of it (the phase diagram) are named
    by their spec and left out of averages over other scenarios (`report.prepare.panel`)."""
    sweeps = {s["name"] for s in RUN["scenarios"] if s.get("experiment") and not s.get("headline")}
    shifted = OK.groupby("scenario")["shift"].nunique() > 1
    ran = OK.groupby("scenario")["model"].agg(set)
    missing = {s: set(PANEL) - ran[s] for s in shifted[shifted].index
               if set(PANEL) - ran[s] and s not in sweeps}
    assert not missing, missing


def test_at_least_thirty_families_each_with_three_shifted_whole_panel_scenarios():
    shifted = OK[OK.groupby("scenario")["shift"].transform("nunique") > 1]
    ran = shifted.groupby("scenario")["model"].agg(set)
    whole = ran[ran.map(lambda models: set(PANEL) <= models)].index
    per_family = shifted[shifted["scenario"].isin(whole)].groupby("family")["scenario"].nunique()
    assert (per_family >= 3).sum() >= 30, per_family.sort_values()


def _unflagged_near_chance(rows):
    """Panel fits at shift 0 whose test accuracy is within 2 points of that sample's majority-class
    rate and that carry no flag of the exclusion rule (they enter the averages)."""
    from spurbench.report.prepare import excluded

    start = rows[(rows["shift"] == 0) & rows["model"].isin(PANEL) & (rows["selection"] == "fixed")]
    near = start[start["accuracy"] < start["majority_accuracy"] + 0.02]
    return near[~excluded(near)]


POOLED = OK["family"].str.startswith("table:")  # families drawn from a finite pool of real rows


def test_no_panel_fit_in_an_average_sits_within_two_points_of_the_majority_rate_unflagged():
    """The flag rule's promise (README), where the validation sample is a fresh draw of the
    training distribution: synthetic families and Bayesian networks."""
    unflagged = _unflagged_near_chance(OK[~POOLED])
    assert unflagged.empty, unflagged[["scenario", "model", "seed", "n_train", "accuracy"]]


def test_on_the_real_tables_no_unflagged_fit_is_at_chance_and_near_chance_ones_are_rare():
    """Real tables judge a fit on a validation pool disjoint from its training rows (issue 25): no
    unflagged panel fit is at or below the majority rate on test. A few sit within 2 points above it
    while their (disjoint, smaller) validation sample puts them at least 5 points above its own:
    two finite samples disagreeing, not memorisation (before the pool, 149 of 40,640 such fits
    were unflagged, interpolating models among them). Bound: fewer than 1 in 1,000 fits."""
    unflagged = _unflagged_near_chance(OK[POOLED])
    at_chance = unflagged[unflagged["accuracy"] <= unflagged["majority_accuracy"]]
    assert at_chance.empty, at_chance[["scenario", "model", "seed", "n_train", "accuracy"]]
    fits = OK[POOLED & (OK["shift"] == 0) & OK["model"].isin(PANEL) & (OK["selection"] == "fixed")]
    assert len(unflagged) < len(fits) / 1000, unflagged[["scenario", "model", "seed", "accuracy"]]


def test_neural_flow_is_well_above_chance_on_the_digits_at_every_training_size():
    digits = OK[(OK["family"] == "table:digits") & (OK["model"] == "neural_flow") & (OK["shift"] == 0)]
    assert not digits.empty
    means = digits.groupby(["scenario", "n_train"])[["accuracy", "majority_accuracy"]].mean()
    assert (means["accuracy"] > means["majority_accuracy"] + 0.2).all(), means


@pytest.mark.parametrize("family", ["table:digits", "table:breast_cancer", "table:wine", "table:hmda"])
def test_real_data_seeds_differ_at_the_whole_train_pool(family):
    rows = OK[(OK["family"] == family) & (OK["model"] == "gaussian_nb")]
    assert not rows.empty
    largest = rows[rows["n_train"] == rows.groupby("scenario")["n_train"].transform("max")]
    spread = largest.groupby(["scenario", "shift"])["accuracy"].std()
    assert (spread > 0).all(), spread[spread == 0]
