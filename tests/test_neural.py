"""The neural pair (`neural_flow`, `neural_mlp`): a proper density, a fair twin, deterministic,
registered only when the `neural` extra (torch) is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal
from spec_helpers import write_spec

pytest.importorskip("torch")

from spurbench import harness
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import METRIC_COLUMNS, read_results
from spurbench.models._neural_nets import NeuralFlowClassifier, NeuralMLPClassifier
from spurbench.registry import PANEL, get_model

ROOT = Path(__file__).resolve().parents[1]
VALUE_COLUMNS = ["scenario", "shift", "model", "seed", "n_train", *METRIC_COLUMNS, "status"]


def test_pair_is_registered_in_its_groups_and_the_panel_with_a_matched_budget():
    flow, mlp = get_model("neural_flow"), get_model("neural_mlp")
    assert (flow.paradigm, flow.group, flow.tags) == ("generative", "flexible_generative",
                                                      frozenset({"sample"}))
    assert (mlp.paradigm, mlp.group) == ("discriminative", "nonlinear_discriminative")
    assert {"neural_flow", "neural_mlp"} <= set(PANEL)
    flow_params, mlp_params = flow.build(0).get_params(), mlp.build(0).get_params()
    assert flow_params == mlp_params  # same hidden layers, steps, batch, optimiser and seed


@pytest.mark.parametrize("d", [1, 2])
def test_flow_density_integrates_to_one_on_a_grid(d):
    # A MADE with Gaussian conditionals is normalised by construction; the numerical integral
    # over [-9, 9]^d (grid step 0.03 in 1-D, 0.09 in 2-D) of standardised-scale data differs from
    # 1 by the quadrature error plus the mass outside the box, both far below the 2% tolerance.
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((150, d)) * 0.7 - 1, rng.gamma(2.0, 1.0, (150, d))])
    y = np.repeat([0, 1], 150)
    model = NeuralFlowClassifier(random_state=0).fit(X, y)
    axis = np.linspace(-9, 9, 601 if d == 1 else 201)
    grid = np.stack(np.meshgrid(*[axis] * d, indexing="ij"), axis=-1).reshape(-1, d)
    density = np.exp(model.class_log_density(grid)).reshape(*[len(axis)] * d, 2)
    mass = density
    for _ in range(d):
        mass = np.trapezoid(mass, axis, axis=0)
    np.testing.assert_allclose(mass, 1.0, atol=0.02)


def test_flow_log_likelihood_on_gaussian_classes_is_close_to_the_true_gaussians():
    # 1,000 rows per class of correlated 3-D Gaussians; on fresh rows the true density's mean
    # log-likelihood bounds the flow's from above up to sampling noise (the gap is a KL
    # divergence). The bound: 0.15 nats per row (0.05 per dimension), several times the gap a
    # 2 x 64 MADE reaches in 200 steps and far below what a diagonal fit loses here (> 0.4).
    rng = np.random.default_rng(1)
    cov = np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
    means = [np.zeros(3), np.array([1.0, -1.0, 2.0])]
    truth = [multivariate_normal(m, cov * (1 + k)) for k, m in enumerate(means)]
    X = np.vstack([t.rvs(1000, random_state=rng) for t in truth])
    y = np.repeat([0, 1], 1000)
    model = NeuralFlowClassifier(random_state=0).fit(X, y)
    for k, t in enumerate(truth):
        fresh = t.rvs(4000, random_state=rng)
        gap = t.logpdf(fresh) - model.class_log_density(fresh)[:, k]
        se = gap.std() / np.sqrt(len(gap))
        assert -4 * se < gap.mean() < 0.15, (k, gap.mean(), se)


def test_flow_samples_have_the_class_means_and_the_pair_classifies_well():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(-2, 1, (300, 4)), rng.normal(2, 1, (300, 4))])
    y = np.repeat(["a", "b"], 300)
    flow = NeuralFlowClassifier(random_state=0).fit(X, y)
    draws = flow.sample(500, "b", rng=0)
    assert draws.shape == (500, 4)
    np.testing.assert_allclose(draws.mean(axis=0), 2.0, atol=0.3)  # SE of a mean ~0.05
    for model in (flow, NeuralMLPClassifier(random_state=0).fit(X, y)):
        assert model.score(X, y) > 0.97
        np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)


def test_same_seed_same_numbers_with_one_and_two_workers(tmp_path):
    spec = write_spec(tmp_path, n_train="60", seeds=2)
    for jobs in (1, 2):
        harness.run([load_scenario(spec)], ["neural_flow", "neural_mlp"], out_dir=tmp_path / str(jobs),
                    jobs=jobs, progress=False)
    one, two = read_results(tmp_path / "1"), read_results(tmp_path / "2")
    assert len(one) == 2 * 2 * 3 and (one.status == "ok").all()
    pd.testing.assert_frame_equal(one[VALUE_COLUMNS], two[VALUE_COLUMNS])


def test_without_torch_the_pair_is_not_registered_specs_naming_it_run_and_list_models_says_how():
    # A meta-path finder that refuses torch, first in line: every import of it fails as if it were
    # not installed (`sys.modules["torch"] = None` would also trip scipy's array-API probe).
    code = ("import sys\n"
            "class NoTorch:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'torch':\n"
            "            raise ModuleNotFoundError(name)\n"
            "sys.meta_path.insert(0, NoTorch())\n"
            "from spurbench.registry import list_models\n"
            "assert not {'neural_flow', 'neural_mlp'} & {e.name for e in list_models()}\n"
            "from spurbench.harness.grid import models_for\n"  # a spec naming the pair still runs, without it
            "from spurbench.harness.spec import load_scenario\n"
            "ran = {e.name for e in models_for(load_scenario('datasets/exp_scale_b01.toml'), None)}\n"
            "assert 'mlp' in ran and not {'neural_flow', 'neural_mlp'} & ran\n"
            "from spurbench.interface.cli import main\n"
            "sys.exit(main(['list', 'models']))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install 'spurbench[neural]'" in out.stdout
    assert "neural_flow, neural_mlp" in out.stdout.splitlines()[-1]
