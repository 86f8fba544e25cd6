"""The estimate by mechanism: each scenario's mechanism, and a small real run whose per-mechanism
estimates equal a direct computation from its rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench import harness
from spurbench.evaluation.selection import fixed
from spurbench.harness.spec import load_scenarios
from spurbench.harness.store import read_meta, read_results
from spurbench.registry import get_generator
from spurbench.report import mechanisms
from spurbench.report.conditions import with_recorded_traits
from spurbench.report.prepare import with_recorded_tags
from spurbench.report.render import write_report
from spurbench.report.reproducible import significant

# A real run's scenarios and the mechanism each is, written out by hand: four families of real
# tables (natural attribute or injected shortcut), three of unseen domains (table:hi in both), one
# network and two synthetic families. Fits the exclusion rule flags leave both computations alike.
EXPECTED = {
    "real_hi_race_r75": "real tables", "tabular_wine": "real tables", "tabular_breast_cancer": "real tables",
    "real_rotterdam_early_r75": "real tables",
    "real_hi_west_unseen": "unseen domains", "real_penguins_year_unseen": "unseen domains",
    "real_hsb82_school_unseen": "unseen domains",
    "bn_asia_lung": "Bayesian networks", "binary_spurious": "synthetic", "label_shift": "synthetic",
}
MODELS = ["gaussian_nb", "logistic_regression", "random_forest"]  # two groups on the discriminative side


def test_the_mechanism_of_each_kind_of_scenario():
    assert mechanisms.mechanism({"source": "synthetic", "params": {}}) == "synthetic"
    assert mechanisms.mechanism({"source": "network", "params": {"network": "asia"}}) == "Bayesian networks"
    agreement = {"source": "real table", "params": {"mechanism": "agreement"}}
    assert mechanisms.mechanism(agreement) == "real tables"
    assert mechanisms.mechanism({"source": "real table", "params": {"rho": 0.9}}) == "real tables"  # injected
    assert mechanisms.mechanism({"source": "real table",
                                 "params": {"mechanism": "unseen_domain"}}) == "unseen domains"
    assert mechanisms.mechanism({"source": "simulator", "params": {}}) == "simulator"  # a plugin's own
    assert mechanisms.mechanism({"name": "old run"}) is None


def test_every_headline_scenario_has_one_of_the_four_mechanisms_and_real_tables_split_by_their_own():
    suite = [s for s in load_scenarios() if s.headline]
    kinds = {s.name: mechanisms.mechanism({"source": get_generator(s.family).source, "params": s.params})
             for s in suite}
    assert set(kinds.values()) == set(mechanisms.MECHANISMS)
    unseen = {name for name, kind in kinds.items() if kind == "unseen domains"}
    assert unseen == {s.name for s in suite if s.params.get("mechanism") == "unseen_domain"}
    assert {n for n, k in kinds.items() if k == "real tables"} >= {"tabular_wine", "patched_digits",
                                                                   "real_hi_race_r75"}
    assert {n for n, k in kinds.items() if k == "Bayesian networks"} == {s.name for s in suite
                                                                         if s.family == "bayes_network"}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mech") / "run"
    scenarios = [s.quick() for s in load_scenarios(list(EXPECTED))]
    harness.run(scenarios, MODELS, out_dir=out, jobs=1, progress=False)
    return out


def _rows(run: Path) -> pd.DataFrame:
    meta = read_meta(run)
    return fixed(mechanisms.with_mechanism(with_recorded_traits(with_recorded_tags(read_results(run), meta),
                                                                meta), meta))


def _direct(rows: pd.DataFrame, plus: list[str], minus: list[str], metric: str) -> pd.DataFrame:
    """The per-mechanism estimate computed from the raw rows, by groupby only."""
    ok = rows[(rows["status"] == "ok") & rows["model"].isin(MODELS)]
    ok = ok[~ok["fit_flags"].fillna("").str.contains("chance_fit|singular_covariance")]
    top = ok.groupby("scenario")["shift"].transform("max")
    if metric == "accuracy":
        per_fit = ok[ok["shift"] == top].set_index(["scenario", "seed", "model"])["accuracy"]
    else:  # drop: accuracy at shift 0 minus accuracy at each shifted level, mean over the levels
        start = ok[ok["shift"] == 0].set_index(["scenario", "seed", "model"])["accuracy"]
        later = ok[ok["shift"] > 0].set_index(["scenario", "seed", "model"])
        per_fit = (start.reindex(later.index) - later["accuracy"]).groupby(level=[0, 1, 2]).mean()
    wide = per_fit.unstack("model")
    diff = (wide[plus].mean(axis=1) - wide[minus].mean(axis=1)).dropna().rename("d").reset_index()
    diff["family"] = diff["scenario"].map(rows.groupby("scenario")["family"].first())
    diff["mechanism"] = diff["scenario"].map(EXPECTED)
    per_scenario = diff.groupby(["mechanism", "family", "scenario"])["d"].mean()
    per_family = per_scenario.groupby(level=["mechanism", "family"]).mean()
    records = []
    for kind, means in per_family.groupby(level="mechanism"):
        low, high = (stats.t.interval(0.95, len(means) - 1, means.mean(), stats.sem(means))
                     if len(means) > 1 else (np.nan, np.nan))
        records.append({"mechanism": kind, "estimate": means.mean(), "ci_low": low, "ci_high": high,
                        "n_families": len(means)})
    return pd.DataFrame(records).set_index("mechanism").sort_index()


@pytest.mark.parametrize(("contrast", "plus", "metric", "column"), [
    ("discriminative - generative", ["logistic_regression", "random_forest"], "accuracy",
     "accuracy_largest_shift"),
    ("discriminative - generative", ["logistic_regression", "random_forest"], "drop", "drop"),
    ("linear_discriminative - parametric_generative", ["logistic_regression"], "accuracy",
     "accuracy_largest_shift"),
    ("nonlinear_discriminative - parametric_generative", ["random_forest"], "drop", "drop"),
])
def test_the_estimate_by_mechanism_equals_a_direct_groupby_on_a_real_run(run, contrast, plus, metric, column):
    rows = _rows(run)
    assert rows.groupby("scenario")["mechanism"].first().to_dict() == EXPECTED
    table = mechanisms.by_mechanism(rows)
    got = table[(table["contrast"] == contrast) & (table["metric"] == column)]
    got = got.set_index("mechanism").sort_index()
    expected = _direct(rows, plus, ["gaussian_nb"], metric)
    assert list(got.index) == list(expected.index)
    # 6 significant digits: the table is rounded where it is computed (`reproducible`)
    for name in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[name].to_numpy(float), expected[name].to_numpy(float), rtol=1e-5,
                                   atol=1e-9)
    assert (got["n_families"] == expected["n_families"]).all()
    assert ((got["note"] == "") == (got["n_families"] >= 3)).all()
    assert got.loc["real tables", "n_families"] == 4 and got.loc["real tables", "note"] == ""
    assert got.loc["synthetic", "note"] == mechanisms.NOT_CALLED  # two families: an interval, not called
    assert np.isfinite(got.loc["synthetic", "ci_low"])
    assert np.isnan(got.loc["Bayesian networks", "ci_low"])  # one family: no interval
    floats = table[["estimate", "ci_low", "ci_high", "p_value"]].to_numpy(float).ravel()
    assert all(significant(v) == v or np.isnan(v) for v in floats)  # the same bytes on any machine


def test_report_md_and_the_csv_carry_the_estimate_by_mechanism(run, tmp_path):
    report = write_report(run).read_text()
    csv = pd.read_csv(run / "tables" / "by_mechanism.csv")
    assert set(csv["mechanism"]) == set(mechanisms.MECHANISMS)
    summary = report.split("## Design")[0]
    assert "| metric | real tables | unseen domains | Bayesian networks | synthetic |" in summary
    for kind, suffix in (("real tables", "; 4)"), ("synthetic", "; 2, not called)")):
        row = csv[(csv["contrast"] == "discriminative - generative") & (csv["metric"] == "drop")
                  & (csv["mechanism"] == kind)].iloc[0]
        low, high = 100 * row["ci_low"], 100 * row["ci_high"]
        assert f"{100 * row['estimate']:+.1f} ({low:+.1f} to {high:+.1f}{suffix}" in summary
    claims = report.split("## What this run shows")[1].split("## Figures")[0]
    assert "| linear_discriminative - parametric_generative | drop |" in claims
