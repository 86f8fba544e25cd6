"""Every registered model fits and predicts on every family's quick scenario (benchopt-style)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.grid import models_for
from spurbench.harness.spec import load_scenarios
from spurbench.registry import list_generators, list_models


def _one_scenario_per_family():
    by_family = {}
    for scenario in load_scenarios():
        by_family.setdefault(scenario.family, scenario)
    # small but real: a training size every family supports, a few hundred test points
    return {f: replace(s.quick(), n_test=min(s.n_test, 300), models=None)
            for f, s in sorted(by_family.items())}


SCENARIOS = _one_scenario_per_family()
BUILT_IN_MODELS = {e.name for e in list_models()}  # before other test modules register theirs
# Every built-in named explicitly, so that opt-in models (which run only where named) run too.
CASES = [(family, entry.name) for family, scenario in SCENARIOS.items()
         for entry in models_for(scenario, sorted(BUILT_IN_MODELS))]


def test_every_generator_family_has_a_scenario():
    assert set(SCENARIOS) == set(list_generators())


def test_every_model_runs_somewhere():
    assert {name for _, name in CASES} == BUILT_IN_MODELS


@pytest.mark.parametrize(("family", "model"), CASES, ids=[f"{f}-{m}" for f, m in CASES])
def test_model_fits_and_scores_on_family(family, model):
    scenario = SCENARIOS[family]
    result = run_fit(FitTask(scenario, model, seed=0, n_train=scenario.n_train[0]))
    errors = {r["error"] for r in result.rows if r["status"] != "ok"}
    assert not errors, errors
    accuracies = np.array([r["accuracy"] for r in result.rows])
    assert np.all((accuracies >= 0) & (accuracies <= 1))
    assert {r["shift"] for r in result.rows} == set(scenario.shift_levels)
