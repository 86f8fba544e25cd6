"""The report's shared selections: which rows count, in which order, with which references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.report import prepare


def _rows(scenario: str, model: str, paradigm: str, shifts=(0.0, 1.0), n_train=100, **values) -> list[dict]:
    base = {"family": "f", "seed": 0, "accuracy": 0.8, "bayes_accuracy": np.nan,
            "invariant_accuracy": np.nan, "status": "ok"}
    return [base | {"scenario": scenario, "model": model, "paradigm": paradigm, "shift": s,
                    "n_train": n_train} | values for s in shifts]


def test_oracle_rows_are_synthesised_from_columns_only_where_no_oracle_model_ran():
    frame = pd.DataFrame(
        _rows("real", "lda", "generative", invariant_accuracy=0.7)
        + _rows("real", "mlp", "discriminative", invariant_accuracy=0.8)
        + _rows("synthetic", "lda", "generative", bayes_accuracy=0.9, invariant_accuracy=0.85)
        + _rows("synthetic", "bayes_oracle", "oracle", accuracy=0.91)
        + _rows("synthetic", "invariant_oracle", "oracle", accuracy=0.84))
    out = prepare.with_oracle_references(frame)
    added = out.iloc[len(frame):]
    assert set(zip(added["scenario"], added["model"], strict=True)) == {("real", "invariant_oracle")}
    assert added["accuracy"].tolist() == pytest.approx([0.75, 0.75])  # mean over lda and mlp


def test_learners_exclude_oracles_and_prior_adapted_variants():
    frame = pd.DataFrame(_rows("s", "lda", "generative") + _rows("s", "lda+em", "generative")
                         + _rows("s", "bayes_oracle", "oracle") + _rows("s", "mlp", "discriminative"))
    assert sorted(prepare.learners(frame)["model"].unique()) == ["lda", "mlp"]


def test_models_trained_with_group_labels_are_read_from_the_runs_record_else_from_the_registry():
    frame = pd.DataFrame(_rows("s", "lda", "generative") + _rows("s", "plugin_dro", "discriminative")
                         + _rows("s", "lr_group_dro", "discriminative") + _rows("s", "mlp", "discriminative"))
    # Without a record: the registry knows lr_group_dro (tag `groups`), not the plugin.
    assert sorted(prepare.learners(frame)["model"].unique()) == ["lda", "mlp", "plugin_dro"]
    meta = {"models": [{"name": "lda", "tags": ["missing"]}, {"name": "mlp", "tags": []},
                       {"name": "plugin_dro", "tags": ["groups", "opt_in"]}]}
    tagged = prepare.with_recorded_tags(frame, meta)
    # The run recorded the plugin's tag; lr_group_dro, unrecorded, is looked up in the registry.
    assert sorted(prepare.learners(tagged)["model"].unique()) == ["lda", "mlp"]
    assert tagged[prepare.GROUP_TRAINED].sum() == 4  # two models, two shift levels each
    assert sorted(prepare.learners(tagged[tagged["shift"] == 0])["model"].unique()) == ["lda", "mlp"]


def test_models_are_grouped_by_paradigm_with_variants_after_their_base():
    frame = pd.DataFrame(_rows("s", "mlp", "discriminative") + _rows("s", "bayes_oracle", "oracle")
                         + _rows("s", "lda_shrinkage", "generative") + _rows("s", "lda+em", "generative")
                         + _rows("s", "lda", "generative") + _rows("s", "knn", "discriminative"))
    assert prepare.model_order(frame) == ["lda", "lda+em", "lda_shrinkage", "knn", "mlp", "bayes_oracle"]


def test_largest_n_train_and_shift_levels_are_per_scenario():
    frame = pd.DataFrame(_rows("a", "lda", "generative", n_train=50)
                         + _rows("a", "lda", "generative", n_train=500)
                         + _rows("b", "lda", "generative", shifts=(0.0,), n_train=20))
    assert prepare.at_largest_n_train(frame)["n_train"].tolist() == [500, 500, 20]
    assert set(prepare.with_shift_levels(frame)["scenario"]) == {"a"}
    assert prepare.at_largest_shift(frame)["shift"].tolist() == [1.0, 1.0, 0.0]


def test_t_interval_uses_student_quantile_and_collapses_for_one_value():
    low, high = prepare.t_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx((2 - 4.302653 / np.sqrt(3), 2 + 4.302653 / np.sqrt(3)))
    assert prepare.t_interval([5.0]) == (5.0, 5.0)


def _probit_rows(model: str, paradigm: str, x: float, y: float, seed: int = 0, **values) -> list[dict]:
    """A fit at probit coordinates x (shift 0) and y (shift 1), stored as accuracies Phi(x), Phi(y)."""
    values = {"reference": 0, "fit_flags": ""} | values
    return [{"scenario": "s", "family": "f", "model": model, "paradigm": paradigm, "seed": seed,
             "n_train": 100, "shift": s, "accuracy": stats.norm.cdf(v), "status": "ok"} | values
            for s, v in ((0.0, x), (1.0, y))]


def _robustness_frame() -> pd.DataFrame:
    # The panel a, b, c at x = -1, 0, 1 with y = -1, 0.5, 0: slope sum(x y) / sum(x^2) = 1/2,
    # intercept mean(y) = -1/6. Off that line and not on it: a reference model, a variant, an
    # oracle, a model trained with group labels, and a second fit of c flagged `chance_fit`.
    return pd.DataFrame(
        _probit_rows("a", "generative", -1, -1) + _probit_rows("b", "discriminative", 0, 0.5)
        + _probit_rows("c", "generative", 1, 0)
        + _probit_rows("c", "generative", 0, 0, seed=1, fit_flags="chance_fit")
        + _probit_rows("lda", "generative", 2, -2, reference=1)
        + _probit_rows("a+em", "generative", -2, 2)
        + _probit_rows("bayes_oracle", "oracle", 2, 2, reference=1)
        + _probit_rows("lr_group_dro", "discriminative", -2, -2, trained_with_groups=True)
    ).assign(trained_with_groups=lambda f: f["trained_with_groups"].fillna(False).astype(bool))


def test_effective_robustness_is_measured_against_the_line_through_the_panel_alone():
    frame = _robustness_frame()
    er = prepare.robustness_against_panel(frame).set_index("model")
    assert set(er.index) == set(frame["model"])  # every model is measured ...
    assert er["slope"].unique() == pytest.approx([0.5])  # ... against the one line of the panel
    assert er["intercept"].unique() == pytest.approx([-1 / 6])
    # lda: Phi(-2) - Phi(-1/6 + 0.5 * 2) = Phi(-2) - Phi(5/6)
    assert er.loc["lda", "effective_robustness"] == pytest.approx(stats.norm.cdf(-2) - stats.norm.cdf(5 / 6))
    # c's own point reads every row given: its flagged fit too, (Phi(1) + Phi(0)) / 2 at shift 0
    assert er.loc["c", "in_distribution"] == pytest.approx((stats.norm.cdf(1) + 0.5) / 2)
    counted = prepare.robustness_against_panel(prepare.panel(frame)).set_index("model")
    assert sorted(counted.index) == ["a", "b", "c"]
    b_expected = stats.norm.cdf(0.5) - stats.norm.cdf(-1 / 6)  # b's distance above the same line
    assert counted.loc["b", "effective_robustness"] == pytest.approx(b_expected)


def test_the_robustness_table_reads_the_same_line_as_the_shared_function():
    from spurbench.report import tables

    frame = _robustness_frame().assign(bayes_accuracy=np.nan, invariant_accuracy=np.nan, ece=np.nan,
                                       spurious_reliance=np.nan)
    table = tables.robustness(frame).set_index("model")["effective_robustness"]
    shared = prepare.robustness_against_panel(frame).set_index("model")["effective_robustness"]
    assert table.rename(lambda m: m.split(" (")[0]).sort_index().to_numpy() == pytest.approx(
        shared.sort_index().to_numpy())


def test_a_scenario_that_ran_part_of_the_panel_stays_out_of_averages_over_others():
    """Balanced panels (SCIENCE): a sweep running two of three panel models (the phase diagram's
    linear pairs) would tilt a group mean over a family's scenarios; `panel` leaves it out, and
    keeps it where every scenario of the frame ran the same models."""
    whole = [_rows(s, m, p, reference=0) for s in ("a", "b")
             for m, p in (("lda", "generative"), ("mlp", "discriminative"), ("qda", "generative"))]
    part = [_rows("sweep", m, p, reference=0) for m, p in (("lda", "generative"), ("mlp", "discriminative"))]
    frame = pd.DataFrame([row for rows in whole + part for row in rows]).assign(fit_flags="")
    assert sorted(prepare.panel(frame)["scenario"].unique()) == ["a", "b"]
    alone = frame[frame["scenario"] == "sweep"]
    assert sorted(prepare.panel(alone)["model"].unique()) == ["lda", "mlp"]
