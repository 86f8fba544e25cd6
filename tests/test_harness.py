"""The harness: deterministic grids, content-keyed resume, crash and timeout isolation."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.naive_bayes import GaussianNB
from spec_helpers import write_spec
from spurbench import harness, registry
from spurbench.errors import SpurbenchError
from spurbench.harness.fitting import FitTask
from spurbench.harness.seeding import rng_for, stable_hash
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import METRIC_COLUMNS, read_results
from spurbench.registry import register_model

VALUE_COLUMNS = ["scenario", "shift", "model", "seed", "n_train", *METRIC_COLUMNS, "status"]


class ExplodingClassifier(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        raise RuntimeError("boom: this model always fails")


class SleepyClassifier(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        time.sleep(5)
        return super().fit(X, y)


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    """Register the misbehaving models for this module's tests only (other modules parametrise
    over every registered model)."""
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_model("test_exploding", paradigm="discriminative")(lambda random_state: ExplodingClassifier())
    register_model("test_sleepy", paradigm="generative")(lambda random_state: SleepyClassifier())


def _run(spec, out, models, **kwargs):
    kwargs.setdefault("jobs", 1)
    return harness.run([load_scenario(spec)], models, out_dir=out, progress=False, **kwargs)


def test_stable_hash_depends_on_content_not_on_process_or_order():
    assert stable_hash("a", 1, 0.5) == stable_hash("a", 1, 0.5)
    assert stable_hash("a", 1, 0.5) != stable_hash(1, "a", 0.5)
    a = rng_for(0, "s", 0, "train").standard_normal(3)
    _ = rng_for(0, "other").standard_normal(100)  # drawing another stream changes nothing
    np.testing.assert_array_equal(a, rng_for(0, "s", 0, "train").standard_normal(3))


def test_every_model_sees_the_same_data_but_its_own_model_seed(tiny_spec):
    scenario = load_scenario(tiny_spec)
    a, b = FitTask(scenario, "lda", 0, 100), FitTask(scenario, "gaussian_nb", 0, 100)
    np.testing.assert_array_equal(a.train_rng().random(5), b.train_rng().random(5))
    np.testing.assert_array_equal(a.test_rng(0.5).random(5), b.test_rng(0.5).random(5))
    assert not np.array_equal(a.test_rng(0.5).random(5), a.test_rng(1.0).random(5))
    assert a.model_seed() != b.model_seed()
    assert a.model_seed() != FitTask(scenario, "lda", 1, 100).model_seed()


def test_same_grid_gives_identical_values_with_one_and_two_workers(tmp_path):
    spec = write_spec(tmp_path, n_train="60, 120", seeds=2)
    models = ["gaussian_nb", "random_forest", "mlp", "bayes_oracle"]
    _run(spec, tmp_path / "one", models, jobs=1)
    _run(spec, tmp_path / "two", models, jobs=2)
    one, two = read_results(tmp_path / "one"), read_results(tmp_path / "two")
    assert len(one) == 4 * 2 * 2 * 3
    pd.testing.assert_frame_equal(one[VALUE_COLUMNS], two[VALUE_COLUMNS])


def test_a_crashing_model_becomes_error_rows_and_the_run_goes_on(tiny_spec, tmp_path):
    summary = _run(tiny_spec, tmp_path / "o", ["test_exploding", "lda"])
    df = read_results(tmp_path / "o")
    bad = df[df.model == "test_exploding"]
    assert summary.failed == 2 and summary.done == 4
    assert (bad.status == "error").all() and bad.error.str.contains("boom").all()
    assert bad.accuracy.isna().all()
    assert (df[df.model == "lda"].status == "ok").all()
    assert "2 failed" in str(summary)


def test_a_fit_past_the_timeout_is_an_error_row(tiny_spec, tmp_path):
    start = time.perf_counter()
    _run(tiny_spec, tmp_path / "o", ["test_sleepy"], seeds=1, timeout=0.3)
    assert time.perf_counter() - start < 4, "the timeout must interrupt the fit"
    df = read_results(tmp_path / "o")
    assert (df.status == "error").all() and df.error.str.contains("timeout").all()


def test_resume_skips_stored_fits_and_runs_only_a_new_model(tiny_spec, tmp_path):
    out = tmp_path / "o"
    first = _run(tiny_spec, out, ["lda"])
    again = _run(tiny_spec, out, ["lda", "gaussian_nb"], resume=True)
    assert (first.done, again.done, again.skipped) == (2, 2, 2)
    df = read_results(out)
    assert len(df) == 2 * 2 * 3
    assert not df.duplicated(["scenario", "shift", "model", "seed", "n_train"]).any()


def test_editing_a_spec_recomputes_only_the_changed_scenario(tmp_path):
    a = write_spec(tmp_path, "a", seeds=1)
    b = write_spec(tmp_path, "b", seeds=1)
    out = tmp_path / "o"
    harness.run([load_scenario(a), load_scenario(b)], ["lda"], out_dir=out, jobs=1,
                progress=False)
    b.write_text(b.read_text().replace("train_correlation = 0.9", "train_correlation = 0.8"))
    summary = harness.run([load_scenario(a), load_scenario(b)], ["lda"], out_dir=out, jobs=1,
                          progress=False, resume=True)
    assert (summary.done, summary.skipped) == (1, 1)
    assert len(read_results(out)) == 2 * 3  # the stale rows of the old b are not exported


def test_renaming_a_scenario_file_does_not_change_its_data(tmp_path):
    a = load_scenario(write_spec(tmp_path, "a"))
    b = load_scenario(write_spec(tmp_path, "b"))
    assert a.content_hash() == b.content_hash()


def test_oracles_are_not_scheduled_for_families_without_a_posterior(tiny_spec):
    scenario = load_scenario(tiny_spec)
    names = [e.name for e in harness.models_for(scenario, None)]
    assert "bayes_oracle" in names and "gaussian_nb" in names


def test_no_model_beats_the_bayes_accuracy_beyond_monte_carlo_noise(tmp_path):
    spec = write_spec(tmp_path, n_train="400", seeds=2)
    _run(spec, tmp_path / "o", ["gaussian_nb", "lda", "logistic_regression", "bayes_oracle"])
    df = read_results(tmp_path / "o")
    n = df.n_test.iloc[0]
    # 4 binomial standard errors (n_test = 400) above the exact Bayes accuracy.
    limit = df.bayes_accuracy + 4 * np.sqrt(df.bayes_accuracy * (1 - df.bayes_accuracy) / n)
    assert (df.accuracy <= limit).all()


def test_unknown_model_is_refused_before_anything_is_written(tiny_spec, tmp_path):
    with pytest.raises(SpurbenchError, match="unknown model"):
        _run(tiny_spec, tmp_path / "o", ["no_such_model"])
    assert not (tmp_path / "o").exists()


def test_quick_selection_covers_every_family_once():
    from spurbench.harness.spec import load_scenarios, one_per_family
    from spurbench.registry import list_generators

    chosen = one_per_family(load_scenarios())
    assert sorted(s.family for s in chosen) == sorted(list_generators())


def test_two_scenarios_with_the_same_content_keep_their_own_rows(tmp_path):
    a = load_scenario(write_spec(tmp_path, "a", seeds=1))
    b = load_scenario(write_spec(tmp_path, "b", seeds=1))
    harness.run([a, b], ["lda"], out_dir=tmp_path / "o", jobs=1, progress=False)
    df = read_results(tmp_path / "o")
    assert sorted(df.scenario.unique()) == ["a", "b"] and len(df) == 2 * 3
    # same content, same data and model seed: the same numbers under both names
    np.testing.assert_array_equal(df[df.scenario == "a"].accuracy, df[df.scenario == "b"].accuracy)


def test_a_run_with_a_progress_bar_leaves_no_thread_behind(tiny_spec, tmp_path):
    # tqdm's monitor thread outlives its bar; while it runs, a report drawn next in the same
    # process (`spurbench run`, a notebook) cannot fork its figure workers.
    import threading

    before = set(threading.enumerate())
    harness.run([load_scenario(tiny_spec)], ["lda"], out_dir=tmp_path, jobs=1, progress=True)
    assert set(threading.enumerate()) <= before
