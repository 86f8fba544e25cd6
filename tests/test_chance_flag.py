"""`chance_fit` is judged on the fit's held-out validation sample, through the real fit path
(`fitting.run_fit`): a constant predictor and an interpolating model at chance are flagged, a good
fit is not, whatever their training accuracy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import spurbench
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from spec_helpers import write_spec
from spurbench.evaluation.fit_checks import CHANCE_FLOOR, chance_fit, chance_margin
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.spec import load_scenario

# Labels are noise: a core separation of 1e-6 standard deviations (the family requires > 0) and
# no spurious feature put the Bayes accuracy at 0.5 + 2e-7.
NOISE_SPEC = """
[scenario]
name = "noise_labels"
family = "gaussian_spurious"
description = "labels independent of the features, for all practical purposes"

[params]
core_separation = 1e-6
n_spurious = 0
n_core = 2
n_noise = 3

[shift]
levels = [0.0, 1.0]

[run]
n_train = [200]
n_test = 2000
seeds = 1
"""

EASY_SPEC = NOISE_SPEC.replace('"noise_labels"', '"easy"').replace("core_separation = 1e-6",
                                                                  "core_separation = 4.0")


def fit_row(tmp_path, body: str, estimator, n_train: int = 200) -> dict:
    scenario = load_scenario(write_spec(tmp_path, body=body))
    entry = spurbench.model(estimator, paradigm="discriminative")
    rows = run_fit(FitTask(scenario, entry, 0, n_train)).rows
    assert rows[0]["status"] == "ok", rows[0]["error"]
    return rows[0]


def flags(row: dict) -> list[str]:
    return (row["fit_flags"] or "").split(",")


def test_a_majority_class_predictor_is_flagged(tmp_path):
    row = fit_row(tmp_path, EASY_SPEC, DummyClassifier(strategy="most_frequent"))
    assert "chance_fit" in flags(row)


def test_logistic_regression_on_an_easy_scenario_is_not_flagged(tmp_path):
    row = fit_row(tmp_path, EASY_SPEC, LogisticRegression())
    assert row["val_accuracy"] > 0.9 and "chance_fit" not in flags(row)


def test_an_interpolating_model_at_chance_on_held_out_rows_is_flagged(tmp_path):
    """1-NN memorises its 200 training rows (training accuracy 1.0) and is at chance on the 2,000
    validation rows: P(it clears majority + 0.05 by luck) is below 1e-5 (4.5 SEs)."""
    row = fit_row(tmp_path, NOISE_SPEC, KNeighborsClassifier(n_neighbors=1))
    assert row["train_accuracy"] == 1.0
    assert "chance_fit" in flags(row)


@pytest.mark.parametrize(("n_val", "margin"), [(2000, CHANCE_FLOOR), (50, 3 * np.sqrt(0.25 / 50))])
def test_the_margin_is_five_points_or_three_standard_errors_on_small_samples(n_val, margin):
    y_val = np.repeat([0, 1], n_val // 2)
    majority, got = chance_margin(y_val)
    assert majority == 0.5 and got == pytest.approx(margin)
    assert chance_fit(0.5 + margin - 1e-9, y_val) and not chance_fit(0.5 + margin + 1e-9, y_val)


def test_on_a_real_table_validation_rows_are_never_training_rows(tmp_path):
    """A real table's validation sample comes from its own pool: 1-NN trained on most of the train
    pool of a table whose labels are coin flips is at chance there and flagged. Drawn from the
    training pool (the old design), three in four validation rows were memorised ones: accuracy
    about 0.87, unflagged."""
    g = np.random.default_rng(0)
    n = 1000
    frame = {"x1": g.normal(size=n), "x2": g.normal(size=n), "y": g.integers(0, 2, size=n),
             "colour": np.where(g.random(n) < 0.5, "red", "blue")}
    pd.DataFrame(frame).to_csv(tmp_path / "coins.csv", index=False)
    body = f"""
    [scenario]
    name = "coin_table"
    family = "real_table"
    description = "labels independent of the features"

    [params]
    path = "{tmp_path / 'coins.csv'}"
    label = "y"
    attribute = "colour"
    attribute_values = ["red"]
    rho = 0.5
    test_fraction = 0.8

    [shift]
    levels = [0.0, 1.0]

    [run]
    n_train = [150]
    n_test = 200
    seeds = 1
    """
    row = fit_row(tmp_path, body, KNeighborsClassifier(n_neighbors=1), n_train=150)
    assert row["train_accuracy"] == 1.0 and row["val_accuracy"] < 0.75
    assert "chance_fit" in flags(row)
