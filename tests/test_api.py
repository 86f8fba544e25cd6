"""The Python API (`import spurbench`) and the fit key it shares with the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn
import spurbench
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from spurbench.errors import ModelError
from spurbench.harness.fitting import FitTask
from spurbench.harness.grid import expand_grid
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import read_sqlite, typed


@pytest.fixture
def tiny(tiny_spec):
    return load_scenario(tiny_spec)


def test_version_and_public_names_are_exported():
    assert spurbench.__version__ == __import__("spurbench").__version__
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
    from spurbench.interface.cli import main

    assert main(["run", "spurius_gaussian", "--quick"]) == 2
    assert "did you mean 'spurious_gaussian'" in capsys.readouterr().err



# --- The researcher's API: evaluate, plain estimators, compare, check_model, report (issue 30).

def test_evaluate_equals_the_stored_metrics_of_a_refitted_fit(tiny):
    """Predictions re-created outside the harness (the same data from `draw`, the same
    deterministic estimators refitted) score exactly what the harness stored: the same functions."""
    rows = spurbench.run(tiny, [GaussianNB(), LogisticRegression()], seeds=2, jobs=1)
    stored_metrics = ["accuracy", "balanced_accuracy", "worst_group_accuracy", "log_loss", "brier",
                      "ece", "auroc"]
    for estimator in (GaussianNB(), LogisticRegression()):
        name = type(estimator).__name__
        for seed in (0, 1):
            X, y, _ = spurbench.draw(tiny, 0.0, tiny.n_train[0], seed=seed, split="train")
            fitted = sklearn.base.clone(estimator).fit(X, y)
            for level in tiny.shift_levels:
                X_test, y_test, groups = spurbench.draw(tiny, level, tiny.n_test, seed=seed)
                scores = spurbench.evaluate(fitted.predict_proba(X_test), y_test, groups)
                row = rows[(rows["model"] == name) & (rows["seed"] == seed) & (rows["shift"] == level)]
                for metric in stored_metrics:
                    assert scores[metric] == pytest.approx(row[metric].item(), abs=1e-12), (name, metric)
                from_labels = spurbench.evaluate(fitted.predict(X_test), y_test, groups)
                assert from_labels["worst_group_accuracy"] == scores["worst_group_accuracy"]
                assert set(from_labels) == {"accuracy", "balanced_accuracy", "worst_group_accuracy",
                                            "spurious_reliance"}


def test_evaluate_by_hand_and_its_one_line_errors():
    from spurbench.errors import ParameterError

    y, pred, groups = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), np.array([0, 1, 2, 3])
    scores = spurbench.evaluate(pred, y, groups, counterfactual=np.array([0, 1, 0, 0]))
    # 3 of 4 right; recalls 1/2 and 1 -> 0.75; group 1 (one example, wrong) -> 0; 2 of 4 flipped
    assert scores == {"accuracy": 0.75, "balanced_accuracy": 0.75, "worst_group_accuracy": 0.0,
                      "spurious_reliance": 0.5}
    with pytest.raises(ParameterError, match=r"^y_pred_or_proba: expected"):
        spurbench.evaluate(pred[:3], y)
    with pytest.raises(ParameterError, match=r"^groups: needs one entry per example"):
        spurbench.evaluate(pred, y, groups[:2])
    with pytest.raises(ParameterError, match=r"^y: with"):
        spurbench.evaluate(np.full((4, 2), 0.5), np.array([0, 1, 2, 1]))


class _Mystery(sklearn.base.ClassifierMixin, sklearn.base.BaseEstimator):
    """A classifier from nowhere: nothing tells its paradigm."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


class _Unnormalised(_Mystery):
    """Scores of 0.7 for every class: rows that do not sum to one."""

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 0.7)


def test_a_plain_estimator_paradigm_and_group_are_inferred_or_asked_for():
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    from spurbench.errors import SpurbenchError
    from spurbench.interface.api import infer_paradigm
    from spurbench.models.mixture import GaussianMixtureClassifier

    expected = {GaussianNB(): ("generative", "parametric_generative"),
                QuadraticDiscriminantAnalysis(): ("generative", "parametric_generative"),
                GaussianMixtureClassifier(): ("generative", None),
                make_pipeline(StandardScaler(), LogisticRegression()): ("discriminative",
                                                                        "linear_discriminative"),
                SVC(kernel="linear"): ("discriminative", "linear_discriminative"),
                SVC(): ("discriminative", "nonlinear_discriminative"),
                RandomForestClassifier(): ("discriminative", "nonlinear_discriminative"),
                MLPClassifier(): ("discriminative", "nonlinear_discriminative"),
                GridSearchCV(GaussianNB(), {"var_smoothing": [1e-9]}): ("generative",
                                                                         "parametric_generative")}
    for estimator, answer in expected.items():
        assert infer_paradigm(estimator) == answer, estimator
    class MyForest(RandomForestClassifier):
        """A user's subclass: its paradigm is its base's."""

    assert infer_paradigm(MyForest()) == ("discriminative", "nonlinear_discriminative")
    assert spurbench.model(GaussianMixtureClassifier()).group == "flexible_generative"
    assert infer_paradigm(_Mystery()) is None
    with pytest.raises(SpurbenchError, match=r"^model '_Mystery': cannot tell .* spurbench.model\(obj, "):
        spurbench.run("spurious_gaussian", _Mystery(), quick=True)
    with pytest.raises(SpurbenchError, match=r"^model 'f': cannot tell"):
        spurbench.model(lambda random_state: GaussianNB(), name="f")


def test_run_takes_a_plain_estimator_alone_or_in_a_list(tiny):
    from sklearn.tree import DecisionTreeClassifier

    alone = spurbench.run(tiny, DecisionTreeClassifier(max_depth=2), seeds=1, jobs=1)
    assert set(alone["model"]) == {"DecisionTreeClassifier"} and (alone["status"] == "ok").all()
    assert set(alone["paradigm"]) == {"discriminative"}
    assert set(alone["group"]) == {"nonlinear_discriminative"}
    mixed = spurbench.run(tiny, [DecisionTreeClassifier(max_depth=2), "gaussian_nb"], seeds=1, jobs=1)
    assert set(mixed["model"]) == {"DecisionTreeClassifier", "gaussian_nb"}
    same = ["fit_key", "shift", "accuracy", "worst_group_accuracy", "log_loss"]  # not the timings
    tree = mixed[mixed["model"] == "DecisionTreeClassifier"]
    pd.testing.assert_frame_equal(alone[same].reset_index(drop=True), tree[same].reset_index(drop=True),
                                  check_exact=True)


def test_a_model_in_the_scenarios_place_or_a_non_model_is_a_one_line_error_saying_what_to_pass():
    from sklearn.tree import DecisionTreeClassifier
    from spurbench.errors import ParameterError

    with pytest.raises(ParameterError, match=r"^scenarios: expected scenario names, TOML paths or Scenario "
                       r"objects, got DecisionTreeClassifier \(a model goes in models="):
        spurbench.run(DecisionTreeClassifier())
    with pytest.raises(ParameterError, match=r"^scenarios: .* got DecisionTreeClassifier"):
        spurbench.compare("gaussian_nb", DecisionTreeClassifier())
    for not_a_model in (3, [object()]):
        with pytest.raises(ParameterError, match=r"^models: (int|object) is not a model: pass a registered "
                           r"name, an unfitted scikit-learn estimator"):
            spurbench.run("spurious_gaussian", not_a_model)


@pytest.fixture
def three(tmp_path):
    from spec_helpers import TINY_SPEC, write_spec

    return [load_scenario(write_spec(tmp_path, f"tiny{c}", body=TINY_SPEC.format(
        name=f"tiny{c}", n_train="100", seeds=1).replace("0.9", f"0.{c}")))
        for c in (7, 8, 95)]


def test_compare_returns_ranks_with_intervals_prints_nothing_and_plots(three, capsys):
    from matplotlib.figure import Figure
    from matplotlib.pyplot import get_fignums
    from sklearn.tree import DecisionTreeClassifier
    from spurbench.errors import ParameterError
    from spurbench.report.leaderboard import COLUMNS

    result = spurbench.compare(DecisionTreeClassifier(max_depth=3), three,
                               against=["logistic_regression", "gaussian_nb"], jobs=1)
    assert capsys.readouterr().out == ""
    assert set(result.rows["seed"]) == {0, 1, 2}  # three seeds by default
    frame = result.to_frame()
    assert list(frame.columns) == [*COLUMNS, "candidate"] and frame["candidate"].sum() == 1
    assert sorted(frame["rank"].tolist()) == [1, 2, 3] and (frame["scenarios"] == 3).all()
    assert ((frame["rank_low"] <= frame["rank"]) & (frame["rank"] <= frame["rank_high"])).all()
    # each mean is over the three per-scenario means (seeds averaged first), with a t interval on 2 df
    mine = result.per_scenario[result.per_scenario["model"] == "DecisionTreeClassifier"]["accuracy_shift"]
    row = frame.set_index("model").loc["DecisionTreeClassifier"]
    assert row["accuracy_shift"] == pytest.approx(mine.mean())
    half = 4.302652729911275 * mine.std(ddof=1) / np.sqrt(3)  # t(0.975, 2)
    assert row["accuracy_shift_ci_high"] - row["accuracy_shift"] == pytest.approx(half)
    assert "| **DecisionTreeClassifier** |" in result.to_markdown()
    assert repr(result).startswith("Comparison('DecisionTreeClassifier': rank ")
    fig = result.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2 and get_fignums() == []  # nothing for plt.show
    assert all(ax.get_xlim() == (0, 1) for ax in fig.axes)
    with pytest.raises(ParameterError, match=r"^seeds: compare needs at least 3 seeds"):
        spurbench.compare("gaussian_nb", three, seeds=2)


def test_check_model_returns_what_the_command_line_prints(capsys):
    from spurbench.interface.cli import main

    good = spurbench.check_model(LogisticRegression())
    assert good.passed and len(good.to_frame()) == 7 and good.to_frame()["passed"].all()
    bad = spurbench.check_model(_Unnormalised(), paradigm="discriminative")
    assert capsys.readouterr().out == ""
    failed = bad.to_frame().query("not passed")
    assert not bad.passed and failed["rule"].iloc[0] == "predict_proba in [0, 1], rows sum to 1"
    assert "rows sum to 1 within 0.4" in failed["detail"].iloc[0]
    assert failed["rule"].str.startswith("a tiny grid").any()  # the harness stores its fits as errors
    assert main(["check-model", "gaussian_nb"]) == 0
    assert capsys.readouterr().out == str(spurbench.check_model("gaussian_nb")) + "\n"


def test_report_writes_a_stored_runs_report_and_refuses_an_empty_folder(tiny, tmp_path):
    from spurbench.errors import SpurbenchError

    spurbench.run(tiny, ["gaussian_nb", "logistic_regression"], seeds=1, jobs=1, out=tmp_path / "run")
    path = spurbench.report(tmp_path / "run")
    assert path == tmp_path / "run" / "report.md" and path.exists()
    header = "| model | paradigm | group | reference | scenarios | families | rank | accuracy_id |"
    assert header in path.read_text()
    assert (tmp_path / "run" / "report.html").exists()
    with pytest.raises(SpurbenchError):
        spurbench.report(tmp_path / "empty")
