"""Four properties that small, plausible changes of the code broke without any test noticing
(issue 25): stored Bayes accuracies per level, run_seed in every data stream, the worst-group
selection protocol, and the top confidence bin of the calibration error. Each test here was
seen to fail on such a change (named in its docstring) before it was committed."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import spurbench
from sklearn.naive_bayes import GaussianNB
from spec_helpers import TINY_SPEC, write_spec
from spurbench import harness
from spurbench.evaluation.metrics import expected_calibration_error
from spurbench.evaluation.selection import protocol_rows
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import METRIC_COLUMNS, read_results


def _spec(tmp_path, name: str, *, levels: str, n_test: int, seeds: int, extra_params: str = ""):
    body = (TINY_SPEC.format(name=name, n_train="100", seeds=seeds)
            .replace("levels = [0.0, 0.5, 1.0]", f"levels = [{levels}]")
            .replace("n_test = 400", f"n_test = {n_test}")
            .replace("n_noise = 1", f"n_noise = 1\n{extra_params}"))
    return load_scenario(write_spec(tmp_path, name, body=body))


def _run(scenario, out, models, **options) -> pd.DataFrame:
    harness.run([scenario], models, out_dir=out, jobs=1, progress=False, **options)
    rows = read_results(out)
    assert (rows["status"] == "ok").all(), rows["error"].dropna().unique()
    return rows


def test_stored_bayes_accuracy_is_the_familys_closed_form_at_each_level(tmp_path):
    """Caught changes: `oracle_accuracies(..., level)` called with level 0 (or another level) in
    `fitting._score_levels`; the oracle cache keyed without the level."""
    # Levels 0, 0.25 and 0.5 of gaussian_spurious have three different Bayes accuracies (1 and 0
    # are mirror images, so both ends would not tell a wrong level from the right one).
    scenario = _spec(tmp_path, "closed_form", levels="0.0, 0.25, 0.5", n_test=400, seeds=1)
    generator = scenario.generator()
    exact = {level: generator.bayes_accuracy(level) for level in scenario.shift_levels}
    assert len({round(value, 6) for value in exact.values()}) == 3
    rows = _run(scenario, tmp_path / "o", ["lda", "bayes_oracle"])
    assert len(rows) == 2 * 3
    for _, row in rows.iterrows():
        assert row["bayes_accuracy"] == pytest.approx(exact[row["shift"]], abs=1e-12), row["shift"]
        assert row["bayes_accuracy_se"] == 0.0


def test_stored_monte_carlo_bayes_accuracy_is_the_oracle_models_accuracy_at_each_level(tmp_path):
    """Student-t classes have no closed form: the stored value is the true posterior's accuracy on
    200,000 draws. The `bayes_oracle` model's accuracy on a fit's own test sample (n_test draws at
    the same level) estimates the same number, so the two agree within 4 standard errors of their
    difference, sqrt(stored_se^2 + p (1 - p) / n_test) (about 0.02 here); the two levels' values
    differ by about 0.08, so a value stored for the wrong level is far outside it.
    Caught changes: as for the closed form."""
    scenario = _spec(tmp_path, "monte_carlo", levels="0.0, 0.5", n_test=5000, seeds=2,
                     extra_params='shape = "student_t"\ndf = 2.5')
    assert scenario.generator().bayes_accuracy(0.0) is None  # this family needs the Monte Carlo
    rows = _run(scenario, tmp_path / "o", ["bayes_oracle"])
    assert len(rows) == 2 * 2 and (rows["bayes_accuracy_se"] > 0).all()
    by_level = rows.groupby("shift")["bayes_accuracy"].agg(["min", "max"])
    assert (by_level["min"] == by_level["max"]).all()  # one population value per level
    for _, row in rows.iterrows():
        p = row["bayes_accuracy"]
        tolerance = 4 * math.sqrt(row["bayes_accuracy_se"] ** 2 + p * (1 - p) / scenario.n_test)
        assert abs(row["accuracy"] - p) <= tolerance, (row["shift"], row["accuracy"], p, tolerance)
    assert abs(by_level["min"].iloc[0] - by_level["min"].iloc[1]) > 0.05


def test_run_seed_changes_the_training_and_test_draws_and_the_same_one_repeats_them(tmp_path):
    """Each run's stored accuracies are those of a refit on `spurbench.draw(..., run_seed=...)`,
    the harness's own streams; those draws repeat for one run_seed and differ between two.
    Caught change: `run_seed` dropped from the stream key (`seeding.seed_sequence` or the
    train/test streams of `fitting`), so every run_seed draws the same data."""
    scenario = _spec(tmp_path, "seeded", levels="0.0, 0.5, 1.0", n_test=400, seeds=1)
    n_train, n_test = scenario.n_train[0], scenario.n_test

    def draws(run_seed: int) -> list[tuple[np.ndarray, ...]]:
        train = spurbench.draw(scenario, 0.0, n_train, seed=0, split="train", run_seed=run_seed)
        return [train, *(spurbench.draw(scenario, level, n_test, seed=0, run_seed=run_seed)
                         for level in scenario.shift_levels)]

    zero, again, one = draws(0), draws(0), draws(1)
    for a, b, c in zip(zero, again, one, strict=True):  # the training sample, then each level's test
        np.testing.assert_array_equal(a[0], b[0])
        assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])
    stored = {}
    for run_seed, data in ((0, zero), (1, one)):
        rows = _run(scenario, tmp_path / f"run_seed{run_seed}", ["gaussian_nb"], run_seed=run_seed)
        clf = GaussianNB().fit(*data[0][:2])
        for level, (X_test, y_test, _) in zip(scenario.shift_levels, data[1:], strict=True):
            stored_accuracy = rows.loc[rows["shift"] == level, "accuracy"].item()
            assert stored_accuracy == pytest.approx(np.mean(clf.predict(X_test) == y_test), abs=1e-12)
        stored[run_seed] = rows
    repeated = _run(scenario, tmp_path / "run_seed0_again", ["gaussian_nb"], run_seed=0)
    columns = ["shift", "train_accuracy", "val_accuracy", *METRIC_COLUMNS]
    pd.testing.assert_frame_equal(repeated[columns], stored[0][columns])


# A hand-made selection grid: two cells (seeds) x three fits (the defaults and two candidates)
# x two shift levels. Validation scores per fit (val_accuracy / val_worst_group_accuracy):
#            seed 0          seed 1
#   {}       0.90 / 0.60     0.70 / 0.70   <- worst_group's pick in seed 1 (the defaults)
#   C=0.1    0.80 / 0.75     0.88 / 0.40   <- worst_group's pick in seed 0
#   C=10     0.85 / 0.50     0.75 / 0.65
# Picking by val_accuracy gives {} and C=0.1; the lowest worst-group gives C=10 and C=0.1; one
# pick for both cells gets one of them wrong: each wrong rule differs from the answer in a cell.
VALIDATION = {0: {"{}": (0.90, 0.60), '{"C": 0.1}': (0.80, 0.75), '{"C": 10}': (0.85, 0.50)},
              1: {"{}": (0.70, 0.70), '{"C": 0.1}': (0.88, 0.40), '{"C": 10}': (0.75, 0.65)}}
WORST_GROUP_PICKS = {0: '{"C": 0.1}', 1: "{}"}


def _candidate_rows() -> pd.DataFrame:
    rows = []
    for seed, fits in VALIDATION.items():
        for k, (config, (val_accuracy, val_worst_group)) in enumerate(fits.items()):
            for shift in (0.0, 1.0):
                rows.append({"scenario": "s", "model": "m", "seed": seed, "n_train": 100,
                             "config": config, "selection": "fixed" if config == "{}" else "candidate",
                             "status": "ok", "shift": shift, "val_accuracy": val_accuracy,
                             "val_worst_group_accuracy": val_worst_group, "val_worst_class_accuracy": 0.5,
                             # test accuracy: distinct per fit and level, so copied rows are traceable
                             "accuracy": 0.5 + 0.1 * k + 0.01 * seed + 0.001 * shift})
    return pd.DataFrame(rows)


def test_worst_group_protocol_picks_the_highest_validation_worst_group_fit_in_every_cell():
    """Caught changes: the protocol ranking by `val_accuracy`, or picking the lowest score."""
    candidates = _candidate_rows()
    picked = protocol_rows(candidates).query("selection == 'worst_group'")
    assert len(picked) == 2 * 2  # every level of one fit per cell
    for seed, config in WORST_GROUP_PICKS.items():
        cell = picked[picked["seed"] == seed]
        assert set(cell["config"]) == {config}, (seed, sorted(set(cell["config"])))
        assert cell["val_worst_group_accuracy"].iloc[0] == max(v[1] for v in VALIDATION[seed].values())
        expected = candidates[(candidates["seed"] == seed) & (candidates["config"] == config)]
        assert sorted(cell["accuracy"]) == sorted(expected["accuracy"])  # that fit's own rows
    assert {json.loads(c).get("C") for c in picked["config"]} == {0.1, None}


def test_ece_counts_a_wrong_prediction_at_confidence_one_in_the_top_bin_with_the_others():
    """Caught changes: a bin rule that gives confidence 1.0 a bin of its own (bins =
    floor(15 c) without the cap at 14), or that drops it (only bins 0..14 summed)."""
    # Confidences 0.62 (right), 0.95 (right), 0.97 (right), 1.0 (wrong), 15 bins of width 1/15.
    # 0.62 is in bin 9; 0.95, 0.97 and 1.0 share bin 14 = [0.9333, 1] (closed on the right).
    # Bin 9:  share 1/4, |1 - 0.62| = 0.38                       -> 0.095
    # Bin 14: share 3/4, accuracy 2/3, mean confidence 2.92/3 = 0.97333...,
    #         |0.66667 - 0.97333| = 0.30667                      -> 0.23
    # ECE = 0.095 + 0.23 = 0.325. (A bin of its own for 1.0 gives 0.095 + 0.5 * |1 - 0.96| +
    # 0.25 * |0 - 1| = 0.365; dropping it gives 0.095 + 0.02 = 0.115.)
    top = np.array([0.62, 0.95, 0.97, 1.0])
    proba = np.c_[top, 1 - top]  # class 0 is each row's prediction
    y = np.array([0, 0, 0, 1])
    assert expected_calibration_error(y, proba) == pytest.approx(0.325, abs=1e-12)
