"""Experiment 14 (model selection) on rows with known gaps: the statistics it states are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench import harness
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import read_results
from spurbench.report.experiments import model_selection, written
from spurbench.report.prepare import usable

from tests.spec_helpers import write_spec

# accuracy at the largest shift (1.0) per protocol and model; worst-group at 0.5 the same minus 0.1
MEANS = {"fixed": {"gen": 0.50, "disc": 0.70}, "iid": {"gen": 0.60, "disc": 0.70},
         "worst_class": {"gen": 0.63, "disc": 0.70}, "worst_group": {"gen": 0.65, "disc": 0.70},
         "oracle": {"gen": 0.70, "disc": 0.75}}
MODELS = {"gen": ("generative", "parametric_generative"), "disc": ("discriminative", "linear_discriminative")}


def _rows(seeds: int = 30, scenarios: tuple[str, ...] = ("s1", "s2"),
          families: dict[str, str] | None = None) -> pd.DataFrame:
    """Rows of `scenarios`, each its own family unless `families` maps it to one."""
    rng = np.random.default_rng(0)
    families = families or {}
    records = []
    for scenario in scenarios:
        for seed in range(seeds):
            for protocol, means in MEANS.items():
                for model, mean in means.items():
                    paradigm, group = MODELS[model]
                    for shift in (0.0, 0.5, 1.0):
                        value = mean + rng.normal(0, 0.01) if shift else 0.9
                        family = families.get(scenario, f"f_{scenario}")
                        records.append({"scenario": scenario, "family": family, "seed": seed, "model": model,
                                        "paradigm": paradigm, "group": group, "reference": 0,
                                        "selection": protocol, "config": "{}", "shift": shift,
                                        "n_train": 500, "status": "ok", "fit_flags": "",
                                        "accuracy": value, "worst_group_accuracy": value - 0.1})
    return pd.DataFrame(records)


def test_gap_table_states_each_protocols_gap_its_change_and_the_share_removed():
    table = model_selection.gap_table(_rows()).set_index(["metric", "selection"])
    accuracy = table.loc["accuracy"]
    assert accuracy.loc["fixed", "gap"] == pytest.approx(0.20, abs=0.01)
    assert accuracy.loc["iid", "change_from_fixed"] == pytest.approx(-0.10, abs=0.01)
    assert accuracy.loc["iid", "share_removed"] == pytest.approx(0.5, abs=0.05)
    assert accuracy.loc["worst_group", "share_removed"] == pytest.approx(0.75, abs=0.05)
    assert accuracy.loc["iid", "change_low"] < -0.10 < accuracy.loc["iid", "change_high"]
    assert "oracle (oracle: reads test draws)" in accuracy.index  # labelled wherever it appears
    assert (table["n_families"] == 2).all()  # the units are the families, not the 30 seeds


def test_gap_intervals_are_over_family_means_not_scenarios_or_seeds():
    families = {"s1": "a", "s2": "a", "s3": "b", "s4": "c"}
    rows = _rows(seeds=5, scenarios=tuple(families), families=families)
    table = model_selection.gap_table(rows).set_index(["metric", "selection"])
    # the same numbers by hand: per scenario, the mean over seeds of the paired gap at shift 1.0,
    # then per family the mean of its scenarios
    last = rows[(rows["shift"] == 1.0) & (rows["selection"] == "iid")]
    wide = last.pivot_table(index=["scenario", "seed"], columns="model", values="accuracy")
    per_scenario = (wide["disc"] - wide["gen"]).groupby("scenario").mean()
    per_family = per_scenario.groupby(per_scenario.index.map(families)).mean()
    low, high = stats.t.interval(0.95, 2, loc=per_family.mean(), scale=stats.sem(per_family))
    iid = table.loc[("accuracy", "iid")]
    assert iid["n_families"] == 3
    assert iid["gap"] == pytest.approx(per_family.mean())
    assert (iid["gap_low"], iid["gap_high"]) == pytest.approx((low, high))


def test_the_claim_that_tuning_moves_the_gap_toward_zero_is_reproduced_when_it_does():
    scenarios = ("s1", "s2", "s3", "s4")
    rows, params = _rows(seeds=10, scenarios=scenarios), {name: {} for name in scenarios}
    section = written(model_selection.analyse(rows, params))
    gap_lines = [b for b in section.bullets if b.startswith("Paradigm gap in accuracy")]
    assert len(gap_lines) == 3 and all("reproduced" in b for b in gap_lines)  # iid, worst_class, worst_group
    assert all("t-interval over 4 families (4 scenarios)" in b for b in gap_lines)
    assert all("away from 0 in 0, across 0 in 0" in b for b in gap_lines)
    assert any("upper bound, not a result" in b for b in section.bullets)
    groups = dict((name, table) for name, _, table in section.tables)["selection_groups"]
    assert set(groups["selection"]) == {"fixed", "iid", "worst_class", "worst_group",
                                        "oracle (oracle: reads test draws)"}


def test_two_families_are_never_called_clear_however_many_seeds_or_scenarios():
    families = {"s1": "a", "s2": "a", "s3": "b", "s4": "b"}
    section = written(model_selection.analyse(_rows(seeds=30, scenarios=tuple(families), families=families),
                                              {name: {} for name in families}))
    gap_lines = [b for b in section.bullets if b.startswith("Paradigm gap")]
    assert gap_lines and all("fewer than 3, so never called clear" in b for b in gap_lines)
    assert not any("reproduced" in b or "contradicted" in b for b in gap_lines)


SPEC = """
[scenario]
name = "{name}"
family = "{family}"
experiment = "model_selection"
description = "tiny selection scenario"

[params]
train_correlation = 0.9

[shift]
levels = [0.0, 0.5, 1.0]

[run]
n_train = [120]
n_test = 300
seeds = 3
selection = true
models = ["logistic_regression", "gaussian_nb"]
"""


def test_a_real_run_gives_one_gap_unit_per_family(tmp_path):
    names = {"select_a": "gaussian_spurious", "select_b": "binary_spurious"}
    scenarios = [load_scenario(write_spec(tmp_path, name, body=SPEC.format(name=name, family=family)))
                 for name, family in names.items()]
    harness.run(scenarios, out_dir=tmp_path / "run", jobs=1, progress=False)
    frame = read_results(tmp_path / "run")
    params = {name: {} for name in names}
    rows = model_selection.EXPERIMENT.rows(usable(frame), params)
    table = model_selection.gap_table(rows[rows["selection"].isin(model_selection.PROTOCOLS)])
    assert set(table["selection"]) >= {"fixed", "iid", "worst_class", "worst_group"}
    assert (table["n_families"] == len(names)).all()  # 2 families of 3 seeds: 2 units, not 6
    fixed = table[(table["metric"] == "accuracy") & (table["selection"] == "fixed")].iloc[0]
    last = rows[(rows["selection"] == "fixed") & (rows["shift"] == 1.0)]
    wide = last.pivot_table(index=["scenario", "seed"], columns="paradigm", values="accuracy")
    assert fixed["gap"] == pytest.approx((wide["discriminative"] - wide["generative"]).groupby("scenario")
                                         .mean().mean())
