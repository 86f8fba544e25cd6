"""The Python API (`import spurbench`) and the fit key it shares with the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import spurbench
from benchmark.errors import ModelError
from benchmark.fitting import FitTask
from benchmark.harness import expand_grid
from benchmark.spec import load_scenario
from benchmark.store import read_sqlite, typed


@pytest.fixture
def tiny(tiny_spec):
    return load_scenario(tiny_spec)


def test_version_and_public_names_are_exported():
    assert spurbench.__version__ == __import__("benchmark").__version__
    assert callable(spurbench.run) and callable(spurbench.compare)
    assert "spurious_gaussian" in {s.name for s in spurbench.scenarios()}


def test_run_returns_rows_from_a_temporary_store_and_draw_is_what_the_fit_saw(tiny):
    rows = spurbench.run(tiny, ["gaussian_nb"], seeds=1, jobs=1)
    assert (rows["status"] == "ok").all() and set(rows["shift"]) == {0.0, 0.5, 1.0}
    # Refit the same model on draw()'s training sample and score it on draw()'s test sample:
    # the stored accuracy must be reproduced exactly (same streams, same data).
    X, y, _ = spurbench.draw(tiny, 0.0, tiny.n_train[0], seed=0, split="train")
    clf = GaussianNB().fit(X, y)
    for level in tiny.shift_levels:
        X_test, y_test, groups = spurbench.draw(tiny, level, tiny.n_test, seed=0)
        stored = rows.loc[rows["shift"] == level, "accuracy"].item()
        assert np.mean(clf.predict(X_test) == y_test) == pytest.approx(stored, abs=1e-12)
        assert set(np.unique(groups)) <= {0, 1, 2, 3}


def test_wrapped_estimator_is_cloned_per_fit_with_the_fit_seed():
    estimator = make_pipeline(StandardScaler(), LogisticRegression(random_state=None))
    entry = spurbench.model(estimator, paradigm="discriminative", name="scaled_lr")
    first, second = entry.build(11), entry.build(12)
    assert first is not estimator and first is not second
    assert first.get_params()["logisticregression__random_state"] == 11
    assert estimator.get_params()["logisticregression__random_state"] is None  # never mutated


def test_fit_key_ignores_repr_settings_and_follows_parameters(tiny):
    (task,) = expand_grid([tiny], ["logistic_regression"], seeds=1)
    with sklearn.config_context(print_changed_only=False):
        (again,) = expand_grid([tiny], ["logistic_regression"], seeds=1)
        assert again.key == task.key
    model = spurbench.model(LogisticRegression(C=2.0), paradigm="discriminative", name="lr")
    other = spurbench.model(LogisticRegression(C=3.0), paradigm="discriminative", name="lr")
    keys = {FitTask(tiny, m, 0, 100).key for m in (model, other)}
    assert len(keys) == 2
    assert FitTask(tiny, model, 0, 100).key != FitTask(tiny, model, 1, 100).key


def _raises(random_state):
    raise RuntimeError("this factory is broken on purpose")


class _FitRaises(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("this fit is broken on purpose")


@pytest.mark.parametrize(("factory", "needle"), [
    (_raises, "RuntimeError: this factory is broken on purpose"),
    (lambda random_state: "not an estimator", "returned a str, not a classifier"),
])
def test_a_factory_that_raises_or_returns_junk_is_refused_naming_it_before_any_fit(
        tiny, tmp_path, factory, needle):
    bad = spurbench.model(factory, paradigm="generative", name="bad_factory")
    with pytest.raises(ModelError, match="model 'bad_factory'") as refused:
        spurbench.run(tiny, ["gaussian_nb", bad], seeds=1, jobs=1, out=tmp_path / "run")
    assert needle in str(refused.value) and "\n" not in str(refused.value)
    assert not (tmp_path / "run").exists()


def test_a_model_whose_fit_raises_becomes_error_rows_not_a_crash(tiny):
    broken = spurbench.model(_FitRaises(), paradigm="generative", name="broken")
    rows = spurbench.run(tiny, [broken, "gaussian_nb"], seeds=1, jobs=1)
    by_model = {name: set(status) for name, status in rows.groupby("model")["status"]}
    assert by_model == {"broken": {"error"}, "gaussian_nb": {"ok"}}
    assert rows.loc[rows.model == "broken", "error"].str.contains("broken on purpose").all()


def test_compare_ranks_a_user_model_per_scenario(tiny, capsys):
    table = spurbench.compare(spurbench.model(GaussianNB(), paradigm="generative", name="mine"),
                              tiny, against=["logistic_regression", "lda"], jobs=1)
    assert list(table["scenario"]) == ["tiny"] and table["n_models"].item() == 3
    assert 1 <= table["accuracy_rank"].item() <= 3 and 1 <= table["worst_group_rank"].item() <= 3
    assert "accuracy_rank" in capsys.readouterr().out


def test_load_reads_a_run_directory(tiny, tmp_path):
    rows = spurbench.run(tiny, ["lda"], seeds=1, jobs=1, out=tmp_path / "run")
    pd.testing.assert_frame_equal(spurbench.load(tmp_path / "run"), rows)


def test_sqlite_csv_and_parquet_hold_identical_values_and_dtypes(tiny, tmp_path):
    broken = spurbench.model(_FitRaises(), paradigm="generative", name="broken")  # text in `error`
    spurbench.run(tiny, ["gaussian_nb", broken], seeds=1, jobs=1, out=tmp_path)
    from_sqlite = typed(read_sqlite(tmp_path / "results.sqlite"))
    from_csv = typed(pd.read_csv(tmp_path / "results.csv"))
    from_parquet = pd.read_parquet(tmp_path / "results.parquet")
    pd.testing.assert_frame_equal(from_sqlite, from_csv, check_exact=True)
    pd.testing.assert_frame_equal(from_sqlite, from_parquet, check_exact=True)
    assert from_parquet["error"].notna().any() and from_parquet["accuracy"].notna().any()


def test_an_unknown_scenario_name_suggests_the_close_ones(capsys):
    from benchmark.cli import main

    assert main(["run", "spurius_gaussian", "--quick"]) == 2
    assert "did you mean 'spurious_gaussian'" in capsys.readouterr().err
