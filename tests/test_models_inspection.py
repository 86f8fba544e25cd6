"""`spurbench sample` / `spurbench explain` back ends: generated examples and per-feature importance."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from spurbench.errors import SpurbenchError
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from spurbench.interface.inspection import explain, sample_examples

# Small training sizes keep these tests fast; everything else is the shipped scenario.
GAUSSIAN = replace(load_scenario(DATASETS_DIR / "spurious_gaussian.toml"), n_train=(300,))
DIGITS = replace(load_scenario(DATASETS_DIR / "patched_digits.toml"), n_train=(200,))


def test_sample_writes_a_csv_with_a_class_column_and_a_png(tmp_path):
    paths = sample_examples("gaussian_nb", GAUSSIAN, n=25, out_dir=tmp_path)
    assert [p.suffix for p in paths] == [".csv", ".png"] and all(p.stat().st_size > 0 for p in paths)
    frame = pd.read_csv(paths[0])
    assert list(frame.columns) == ["x0", "x1", "x2", "x3", "class"]
    assert frame["class"].value_counts().to_dict() == {0: 25, 1: 25}
    np.testing.assert_array_equal(paths[1].read_bytes()[:8], b"\x89PNG\r\n\x1a\n")


def test_sample_is_reproducible(tmp_path):
    first = pd.read_csv(sample_examples("gmm_classifier", GAUSSIAN, 10, tmp_path / "a")[0])
    second = pd.read_csv(sample_examples("gmm_classifier", GAUSSIAN, 10, tmp_path / "b")[0])
    pd.testing.assert_frame_equal(first, second)


def test_sample_of_digits_generates_64_pixel_images_per_class(tmp_path):
    csv, png = sample_examples("bernoulli_nb", DIGITS, n=8, out_dir=tmp_path)
    frame = pd.read_csv(csv)
    assert frame.shape == (16, 65) and png.exists()


def test_sample_with_a_model_that_cannot_generate_names_the_ones_that_can(tmp_path):
    with pytest.raises(SpurbenchError, match=r"logistic_regression.*no 'sample' tag.*gaussian_nb"):
        sample_examples("logistic_regression", GAUSSIAN, 5, tmp_path)


def test_explain_gives_role_importance_and_shares_summing_to_one():
    frame, by_role = explain("logistic_regression", GAUSSIAN)
    assert sum(by_role.values()) == pytest.approx(1.0)
    assert list(frame.columns) == ["feature", "role", "importance", "share"]
    assert list(frame["role"]) == ["core", "spurious", "noise", "noise"]
    assert frame["share"].sum() == pytest.approx(1.0)
    # trained with a 95% spurious agreement and a cleaner spurious feature: it leans on it
    assert frame.loc[frame.role == "spurious", "share"].item() > 0.2


def test_explain_reproduces_the_spurious_importance_the_benchmark_stores():
    _, by_role = explain("random_forest", GAUSSIAN, seed=1)
    rows = run_fit(FitTask(GAUSSIAN, "random_forest", seed=1, n_train=300)).rows
    assert rows[0]["spurious_importance"] == pytest.approx(by_role["spurious"])
