"""Experiment 14 (model selection) on rows with known gaps: the statistics it states are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spurbench.report.experiments import model_selection

# accuracy at the largest shift (1.0) per protocol and model; worst-group at 0.5 the same minus 0.1
MEANS = {"fixed": {"gen": 0.50, "disc": 0.70}, "iid": {"gen": 0.60, "disc": 0.70},
         "worst_class": {"gen": 0.63, "disc": 0.70}, "worst_group": {"gen": 0.65, "disc": 0.70},
         "oracle": {"gen": 0.70, "disc": 0.75}}
MODELS = {"gen": ("generative", "parametric_generative"), "disc": ("discriminative", "linear_discriminative")}


def _rows(seeds: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    records = []
    for scenario in ("s1", "s2"):
        for seed in range(seeds):
            for protocol, means in MEANS.items():
                for model, mean in means.items():
                    paradigm, group = MODELS[model]
                    for shift in (0.0, 0.5, 1.0):
                        value = mean + rng.normal(0, 0.01) if shift else 0.9
                        records.append({"scenario": scenario, "seed": seed, "model": model,
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


def test_the_claim_that_tuning_moves_the_gap_toward_zero_is_reproduced_when_it_does():
    section = model_selection.analyse(_rows(), {"s1": {}, "s2": {}})
    gap_lines = [b for b in section.bullets if b.startswith("Paradigm gap in accuracy")]
    assert len(gap_lines) == 3 and all("reproduced" in b for b in gap_lines)  # iid, worst_class, worst_group
    assert any("upper bound, not a result" in b for b in section.bullets)
    groups = dict((name, table) for name, _, table in section.tables)["selection_groups"]
    assert set(groups["selection"]) == {"fixed", "iid", "worst_class", "worst_group",
                                        "oracle (oracle: reads test draws)"}
