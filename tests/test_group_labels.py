"""Training group labels are an opt-in capability (tag ``groups``), and the reweighting baselines
built on it show the effect of Sagawa et al. (2020)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.naive_bayes import GaussianNB
from spec_helpers import write_spec
from spurbench import registry
from spurbench.evaluation.metrics import worst_group_accuracy
from spurbench.generators.group_shift import GroupShift
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.spec import load_scenario
from spurbench.models.group_robust import group_weights
from spurbench.registry import get_model, register_model

SEEN: list = []


class RecordingNB(GaussianNB):
    """Gaussian NB that records the `groups` it was given (None when the harness gave none)."""

    def fit(self, X, y, groups=None):
        SEEN.append(groups)
        return super().fit(X, y)


@pytest.fixture
def recording_models(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    build = lambda random_state: RecordingNB()  # noqa: E731
    register_model("test_with_groups", paradigm="generative", tags={"groups"})(build)
    register_model("test_without_groups", paradigm="generative")(build)
    SEEN.clear()


def test_training_groups_reach_only_the_models_that_declare_them(tmp_path, recording_models):
    scenario = load_scenario(write_spec(tmp_path))
    for name in ("test_with_groups", "test_without_groups"):
        assert all(r["status"] == "ok" for r in run_fit(FitTask(scenario, name, 0, 100)).rows)
    with_groups, without = SEEN
    assert with_groups is not None and len(with_groups) == 100 and set(with_groups) <= {0, 1, 2, 3}
    assert without is None


def test_group_weights_balance_groups_or_upweight_each_class_minority():
    y = np.array([0] * 10 + [1] * 10)
    groups = np.array([0] * 9 + [1] + [3] * 8 + [2] * 2)
    balanced = group_weights(groups, y, "balanced", 5.0)
    totals = [balanced[groups == g].sum() for g in range(4)]
    np.testing.assert_allclose(totals, totals[0])
    up = group_weights(groups, y, "upweight", 5.0)
    assert up[9] / up[0] == pytest.approx(5.0) and up[18] / up[10] == pytest.approx(5.0)
    assert up.mean() == pytest.approx(1.0)


def test_reweighted_interpolating_logit_loses_the_worst_group_and_strong_l2_keeps_it():
    # Sagawa et al. (2020): 200 training rows, 200 noise features (1/sqrt(N) scaled). Over 6 seeds
    # the unregularised reweighted fit interpolates (training worst-group accuracy 1) and its test
    # worst-group accuracy at balanced groups falls near 0.3; the strongly regularised one stays
    # near 0.75. The 0.2 margin is several times the seed-to-seed spread of either mean (~0.03).
    gen = GroupShift(n_noise=200)
    scores: dict[str, list[float]] = {"lr_mle_group_balanced": [], "lr_l2_strong_group_balanced": []}
    train_worst = []
    for seed in range(6):
        train = gen.sample(200, 0.0, np.random.default_rng(seed))
        test = gen.sample(2000, 0.5, np.random.default_rng(1000 + seed))
        for name, values in scores.items():
            model = get_model(name).build(seed).fit(train.X, train.y, groups=train.group)
            values.append(worst_group_accuracy(test.y, model.predict(test.X), test.group))
            if name == "lr_mle_group_balanced":
                train_worst.append(worst_group_accuracy(train.y, model.predict(train.X), train.group))
    assert min(train_worst) == 1.0
    assert np.mean(scores["lr_l2_strong_group_balanced"]) - np.mean(scores["lr_mle_group_balanced"]) > 0.2


def test_group_label_models_run_only_where_named(tmp_path):
    from dataclasses import replace

    from spurbench.harness.grid import models_for

    scenario = load_scenario(write_spec(tmp_path))
    assert "lr_mle_group_balanced" not in {e.name for e in models_for(scenario, None)}
    named = replace(scenario, models=("lr_mle_group_balanced", "lda"))
    assert {e.name for e in models_for(named, None)} == {"lr_mle_group_balanced", "lda"}
    assert [e.name for e in models_for(scenario, ["lr_mle_group_balanced"])] == ["lr_mle_group_balanced"]
