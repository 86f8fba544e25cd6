"""Experiment 16 (DomainBed in its own setting): on a small real run, the family-level estimate and
its interval match a direct computation from the stored rows; on hand-built rows, the equivalence
verdict follows the +-1 point rule. Tolerances: 1e-12 (the same arithmetic done twice)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.errors import SpecError
from spurbench.harness.grid import expand_grid
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from spurbench.interface import api
from spurbench.registry import PANEL
from spurbench.report import experiments
from spurbench.report.experiments import domainbed, written

TABLES = ("domainbed_abalone_sex", "domainbed_hi_region", "domainbed_fair_occupation")


@pytest.fixture(scope="module")
def real_run() -> pd.DataFrame:
    """Three families, three seeds, every configuration of the three compared models (the panel
    left out to keep it small): 108 small fits."""
    scenarios = [replace(load_scenario(DATASETS_DIR / f"{name}.toml"), n_test=300,
                         models=(domainbed.ERM, domainbed.DRO, domainbed.REWEIGHTED)) for name in TABLES]
    rows = api.run(scenarios, seeds=3, jobs=1)
    params = {s.name: s.params for s in scenarios}
    return domainbed.EXPERIMENT.rows(rows[rows["status"] == "ok"], params)


def _direct(rows: pd.DataFrame, model: str) -> pd.Series:
    """Per family: mean over seeds of `model` minus ERM, at shift 1 under `iid` selection."""
    picked = rows[(rows["selection"] == "iid") & (rows["shift"] == 1.0)]
    wide = picked.pivot_table(index=["family", "seed"], columns="model", values="accuracy")
    return (wide[model] - wide["logistic_regression"]).groupby("family").mean()


@pytest.mark.parametrize("model", [domainbed.DRO, domainbed.REWEIGHTED])
def test_the_family_interval_matches_a_direct_computation(real_run, model):
    values = _direct(real_run, model)
    assert len(values) == 3 and set(real_run["scenario"]) == set(TABLES)
    mean, sd, f = values.mean(), values.std(ddof=1), len(values)
    half = stats.t.ppf(0.975, f - 1) * sd / np.sqrt(f)  # t on F - 1 = 2 degrees of freedom
    row = domainbed.summary(real_run).set_index(["selection", "method"]).loc[("iid", model)]
    assert row["n_families"] == 3
    assert row["difference"] == pytest.approx(mean, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((mean - half, mean + half), abs=1e-12)
    left_out = [(values.sum() - v) / 2 for v in values]
    assert (row["lofo_low"], row["lofo_high"]) == pytest.approx((min(left_out), max(left_out)), abs=1e-12)
    families = domainbed.family_table(real_run).set_index("family")
    assert families[f"{model}_minus_erm"].to_numpy() == pytest.approx(values.loc[families.index].to_numpy(),
                                                                      abs=1e-12)


def test_the_groups_the_robust_methods_saw_were_the_training_domains(real_run):
    """Validation worst-group accuracy is over the training domains: with the default groups of a
    training draw (2 y + 0, the classes) it would equal the worst-class accuracy on every fit."""
    fits = real_run[(real_run["selection"] == "fixed") & (real_run["shift"] == 0.0)]
    assert (fits["val_worst_group_accuracy"] <= fits["val_accuracy"] + 1e-12).all()
    assert (fits["val_worst_group_accuracy"] != fits["val_worst_class_accuracy"]).any()


def _hand_rows(shift_by_family: dict[str, float], seeds: int = 10) -> pd.DataFrame:
    """ERM at 0.70 + seed noise; both robust methods at ERM + the family's shift + small noise."""
    rng = np.random.default_rng(0)
    records = []
    for family, delta in shift_by_family.items():
        for seed in range(seeds):
            erm = 0.70 + rng.normal(0, 0.02)
            for model, value in ((domainbed.ERM, erm), (domainbed.DRO, erm + delta + rng.normal(0, 1e-3)),
                                 (domainbed.REWEIGHTED, erm + delta + rng.normal(0, 1e-3))):
                for protocol in ("iid", "oracle"):
                    records.append({"family": family, "scenario": f"db_{family}", "seed": seed,
                                    "model": model, "selection": protocol, "shift": 1.0,
                                    "accuracy": value, "fit_flags": ""})
            # a panel model of the same scenario, flagged: outside the comparison and its flag count
            records.append({"family": family, "scenario": f"db_{family}", "seed": seed, "model": "qda",
                            "selection": "iid", "shift": 1.0, "accuracy": 0.5, "fit_flags": "chance_fit"})
    return pd.DataFrame(records)


def test_a_difference_tight_around_zero_is_reproduced_and_a_large_one_contradicted():
    tight_rows = _hand_rows({f"t{i}": 0.001 * (i % 2) for i in range(6)})
    assert (domainbed.flagged_share(tight_rows) == 0).all()
    tight = written(domainbed.analyse(tight_rows, {}))
    assert sum("within +-0.01 (DomainBed): reproduced" in b for b in tight.bullets) == 2
    far = written(domainbed.analyse(_hand_rows({f"t{i}": 0.05 + 0.002 * i for i in range(6)}), {}))
    assert sum("within +-0.01 (DomainBed): contradicted" in b for b in far.bullets) == 2
    assert any("upper bound, not a result" in b for b in far.bullets)


def test_the_experiment_is_discovered_with_its_claim_stated_first():
    found = {e.tag: e for e in experiments.discover()}
    experiment = found["domainbed"]
    assert experiment.protocols and "Gulrajani & Lopez-Paz" in experiment.claim
    assert all(word in experiment.claim for word in ("**Reproduced**", "**contradicted**",
                                                    "**not detected**", "Pre-registered test"))


def test_the_specs_run_the_panel_at_its_defaults_and_search_only_the_compared_models():
    scenario = load_scenario(DATASETS_DIR / "domainbed_hi_region.toml")
    per_model = pd.Series([t.model for t in expand_grid([scenario], seeds=1)]).value_counts()
    compared = [domainbed.ERM, domainbed.DRO, domainbed.REWEIGHTED]
    assert set(PANEL) <= set(per_model.index)
    assert (per_model[compared] == 4).all()  # four L2 strengths each
    assert (per_model.drop(compared) == 1).all()


def test_a_selection_list_naming_a_model_outside_run_models_is_one_line(tmp_path):
    text = (DATASETS_DIR / "domainbed_hi_region.toml").read_text()
    spec = tmp_path / "bad.toml"
    spec.write_text(text.replace('selection = ["logistic_regression"', 'selection = ["qda_group"'))
    with pytest.raises(SpecError, match=r"run\.selection: must be true, false or a non-empty list") as caught:
        load_scenario(spec)
    assert "\n" not in str(caught.value)
