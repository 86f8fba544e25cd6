"""Experiment 1 across real tables: the shares of tables with each end of Ng & Jordan's shape, their
exact intervals over tables, and the `ng_jordan_*` specs of the real-table catalogue."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.generators._tables import CATALOGUE
from spurbench.harness.spec import DATASETS_DIR, load_scenario, load_scenarios
from spurbench.interface import api
from spurbench.report.experiments import _across_tables as across
from spurbench.report.experiments import sample_efficiency, written

TABLE_SPECS = [DATASETS_DIR / f"ng_jordan_{name}.toml" for name in sorted(CATALOGUE)]


def test_exact_interval_and_power_match_the_binomial_arithmetic():
    # 3 of 4: Clopper-Pearson bounds are Beta(3, 2) at 2.5% and Beta(4, 1) at 97.5% (= 0.975 ** (1/4))
    low, high = across.exact_interval(3, 4)
    assert low == pytest.approx(0.19412, abs=1e-5) and high == pytest.approx(0.975 ** 0.25)
    assert across.exact_interval(0, 5)[0] == 0.0 and across.exact_interval(5, 5)[1] == 1.0
    # 10 tables at 0.05: 2 P(K >= 9 | 1/2) = 22/1024 rejects, 2 P(K >= 8) = 112/1024 does not; the
    # power at a true share of 0.8 is P(K >= 9 | 0.8) = 10 * 0.8^9 * 0.2 + 0.8^10
    assert across.binomial_power(10, 0.05) == pytest.approx(10 * 0.8**9 * 0.2 + 0.8**10)
    assert across.binomial_power(4, 0.05) == 0.0  # 4 tables can never be clear at 0.05


def test_every_catalogue_table_has_a_cheap_shift_free_learning_curve_spec():
    scenarios = load_scenarios(TABLE_SPECS)
    assert len({s.data_family for s in scenarios}) == len(CATALOGUE) == len(scenarios)
    for s in scenarios:
        assert s.family == "real_table" and s.experiment == "sample_efficiency" and not s.headline
        assert s.params["mechanism"] == "none" and s.shift_levels == (0.0,) and s.seeds == 60
        assert len(s.n_train) == 5 and list(s.n_train) == sorted(s.n_train)
        assert set(s.models) == set(across.TRIO)
    fits = sum(len(s.n_train) * s.seeds * len(s.models) for s in scenarios)
    assert fits <= 12_600  # the budget of the paper run: 14 tables x 5 sizes x 60 seeds x 3 models


@pytest.fixture(scope="module")
def small_run() -> pd.DataFrame:
    """Three small real tables, their smallest and largest sizes, 5 seeds (a real run, no stubs)."""
    scenarios = [load_scenario(DATASETS_DIR / f"ng_jordan_{name}.toml")
                 for name in ("hearts", "penguins", "social_insure")]
    scenarios = [replace(s, n_train=(min(s.n_train), max(s.n_train))) for s in scenarios]
    return api.run(scenarios, seeds=5, jobs=1)


def _direct_count(rows: pd.DataFrame) -> dict[str, int]:
    """The three calls counted straight from the rows: per table and end, the paired difference over
    seeds and its 95% t-interval from scipy."""
    counts = dict.fromkeys(across.CALLS, 0)
    for _, part in rows[rows["shift"] == 0].groupby("family"):
        wide = part.pivot_table(index=["n_train", "seed"], columns="model", values="accuracy")
        diff = wide["logistic_regression_mle"] - wide["gaussian_nb"]
        ends = {}
        for end, size in (("smallest", part["n_train"].min()), ("largest", part["n_train"].max())):
            d = diff.loc[size].to_numpy()
            half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
            ends[end] = (d.mean() - half, d.mean() + half)
        ahead = ends["smallest"][1] < 0, ends["largest"][0] > 0
        counts["naive_bayes_ahead_smallest"] += ahead[0]
        counts["logistic_ahead_largest"] += ahead[1]
        counts["crossing"] += ahead[0] and ahead[1]
    return counts


def test_the_shares_over_tables_match_a_direct_count_with_intervals_in_0_1(small_run):
    tables = across.table_results(small_run)
    assert sorted(tables["table"]) == ["table:hearts", "table:penguins", "table:social_insure"]
    assert (tables["n_seeds"] == 5).all()
    summary = across.shares(tables).set_index("call")
    for column, call in across.CALLS.items():
        row = summary.loc[call]
        assert row["tables_with"] == _direct_count(small_run)[column] and row["tables"] == 3
        assert row["share"] == pytest.approx(row["tables_with"] / 3)
        assert 0 <= row["ci_low"] <= row["share"] <= row["ci_high"] <= 1
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(across.exact_interval(row["tables_with"], 3))
        # 3 tables: at most a p-value of 2 / 8 = 0.25 from the exact test, never clear
        assert row["p_value"] >= 0.25 and row["verdict"].startswith("not detected (power 0.00")
    # the sensitivity: the same shares over the informative tables, stated but never asked
    assert tables["flagged_largest"].between(0, 1).all()
    kept = tables[tables["informative"]]
    sensitivity = across.shares(kept, tested=False)
    assert (sensitivity["tables"] == len(kept)).all()
    assert (sensitivity["verdict"] == "sensitivity, not tested").all() and sensitivity["p_value"].isna().all()


def test_the_section_states_the_cross_table_verdicts_and_draws_one_panel_per_table(small_run):
    section = written(sample_efficiency.analyse(small_run, {}))
    names = [name for name, _, _ in section.tables]
    assert names[-2:] == ["learning_curve_tables", "learning_curve_table_shares"]
    shares = section.tables[-1][2]
    for r in shares.itertuples():
        assert (f"{r.call} on {r.tables_with} of 3 tables, share {r.share:.2f} (exact 95% CI "
                f"{r.ci_low:.2f} to {r.ci_high:.2f}") in "\n".join(section.bullets)
    figure = next(f for f in section.figures if f.name == "exp_sample_efficiency_tables").build()
    titled = [ax for ax in figure.axes if ax.get_title()]
    assert sorted(ax.get_title() for ax in titled) == sorted(across.table_results(small_run)["table"])
    assert all(len(ax.get_lines()) <= 8 for ax in titled)


def test_only_real_tables_are_counted_across_tables(small_run):
    """A synthetic family running the same pair (a learning-curve sweep such as nb_misspecified)
    is not a table: relabelled as one, its rows leave the cross-table count unchanged."""
    one = small_run[small_run["family"] == small_run["family"].iloc[0]]
    synthetic = one.assign(family="nb_misspecified", scenario="synthetic_curve")
    with_synthetic = across.table_results(pd.concat([small_run, synthetic], ignore_index=True))
    assert list(with_synthetic["table"]) == list(across.table_results(small_run)["table"])
    assert all(table.startswith("table:") for table in with_synthetic["table"])
