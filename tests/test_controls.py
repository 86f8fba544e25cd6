"""Controllability variants: a spurious feature dropped at test time (marginalised by generative
models, imputed for the others) against a refit without it."""

from __future__ import annotations

import numpy as np
import pytest
from spec_helpers import write_spec
from spurbench import harness
from spurbench.errors import SpecError
from spurbench.harness.fitting import FitTask, SpuriousControls, _FittedModel, run_fit
from spurbench.harness.spec import load_scenario, load_scenarios
from spurbench.harness.store import read_results
from spurbench.registry import get_model
from spurbench.report.experiments import controllability, written
from spurbench.report.prepare import usable

CONTROL = load_scenarios(["exp_control_gaussian"])[0]


@pytest.mark.parametrize("name", ["gaussian_nb", "lda"])
def test_marginalising_a_gaussian_feature_equals_refitting_without_it(name):
    # Independent per-feature (naive Bayes) or Gaussian-block (LDA) maximum-likelihood estimates:
    # the marginal of the fitted density over the dropped feature is the density fitted without it.
    gen = CONTROL.generator()
    train = gen.sample(300, 0.0, np.random.default_rng(0))
    test = gen.sample(500, 1.0, np.random.default_rng(1))
    entry = get_model(name)
    fitted = _FittedModel(entry, entry.build(0), gen, train)
    controls = SpuriousControls(fitted, train)
    dropped = test.X.copy()
    dropped[:, controls.spurious] = np.nan
    np.testing.assert_allclose(fitted.proba(dropped, 1.0), controls.refitted.proba(test.X, 1.0),
                               atol=1e-8)


def test_every_learner_gets_both_variants_and_oracles_none():
    rows = run_fit(FitTask(CONTROL, "logistic_regression", 0, 200)).rows
    by_model = {r["model"]: r for r in rows if r["shift"] == 1.0}
    assert set(by_model) == {"logistic_regression", "logistic_regression+drop_spurious",
                             "logistic_regression+refit_without_spurious"}
    assert by_model["logistic_regression+drop_spurious"]["missing_handling"] == "spurious_imputed"
    assert by_model["logistic_regression"]["reference"] == 0
    assert by_model["logistic_regression+refit_without_spurious"]["reference"] == 1
    # without the spurious feature the counterfactual flip changes nothing
    assert by_model["logistic_regression+drop_spurious"]["spurious_reliance"] == 0
    generative = {r["model"]: r for r in run_fit(FitTask(CONTROL, "gaussian_nb", 0, 200)).rows}
    assert generative["gaussian_nb+drop_spurious"]["missing_handling"] == "spurious_marginalised"
    assert {r["model"] for r in run_fit(FitTask(CONTROL, "bayes_oracle", 0, 200)).rows} == {"bayes_oracle"}


def test_controls_are_off_unless_the_spec_asks_and_the_flag_must_be_boolean(tmp_path):
    plain = load_scenario(write_spec(tmp_path))
    assert {r["model"] for r in run_fit(FitTask(plain, "gaussian_nb", 0, 100)).rows} == {"gaussian_nb"}
    text = (tmp_path / "tiny.toml").read_text() + 'spurious_controls = "yes"\n'
    bad = write_spec(tmp_path, "bad", body=text)
    with pytest.raises(SpecError, match=r"run.spurious_controls.*true or false"):
        load_scenario(bad)


CONTROL_SPEC = """
[scenario]
name = "control_tiny"
family = "gaussian_spurious"
experiment = "controllability"
description = "tiny controllability run"

[params]
train_correlation = 0.95
n_noise = 1
spurious_separation = 4.0

[shift]
levels = [0.0, 0.5, 1.0]

[run]
n_train = [150]
n_test = 400
seeds = 3
spurious_controls = true
models = ["gaussian_nb", "gmm_classifier", "logistic_regression"]
"""


def test_a_real_run_gives_the_experiment_its_refit_row_with_the_refit_seconds(tmp_path):
    scenario = load_scenario(write_spec(tmp_path, "control_tiny", body=CONTROL_SPEC))
    harness.run([scenario], out_dir=tmp_path / "run", jobs=1, progress=False)
    frame = read_results(tmp_path / "run")
    params = {"control_tiny": {}}
    section = written(controllability.analyse(controllability.EXPERIMENT.rows(usable(frame), params), params))
    tables = {name: table for name, _, table in section.tables}
    strategies = tables["controllability_strategies"].set_index("strategy")
    refit = strategies.loc[controllability.FAIR]
    refits = frame[frame["model"] == "logistic_regression+refit_without_spurious"]
    largest = refits[refits["shift"] == 1.0]
    assert refit["learners"] == "logistic_regression" and refit["training_rows"] == 150
    assert refit["extra_fit_seconds"] == pytest.approx(largest["fit_seconds"].mean())
    assert refit["extra_fit_seconds"] > 0
    assert refit["accuracy"] == pytest.approx(largest["accuracy"].mean())
    marginalised = strategies.loc["generative, marginalised (no refit)"]
    assert marginalised["extra_fit_seconds"] == 0 and marginalised["training_rows"] == 0
    kinds = tables["controllability_marginals"].set_index("model")
    # the Gaussian identity holds in the stored rows: every seed's dropped accuracy is the refit's
    assert kinds.loc["gaussian_nb", "marginal"] == controllability.IDENTITY
    assert kinds.loc["gaussian_nb", "identical_seeds"] == 3
    assert kinds.loc["gmm_classifier", "marginal"] == controllability.NON_TRIVIAL
    assert any(b.startswith("`control_tiny`, the fair comparison") for b in section.bullets)
