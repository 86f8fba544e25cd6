"""Model selection (benchmark/evaluation/selection.py): search spaces, one fit per configuration, the four
protocols, and the robust-training baselines that use group labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from spurbench import harness, registry
from spurbench.errors import SpurbenchError
from spurbench.evaluation.selection import PROTOCOLS, fixed, protocol_rows
from spurbench.generators.gaussian_spurious import GaussianSpurious
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import read_results
from spurbench.models.group_robust import (
    GroupBalanced,
    GroupBalancedGaussian,
    GroupDROLogisticRegression,
    group_weights,
)

from tests.spec_helpers import write_spec

MODELS = ["logistic_regression", "gaussian_nb", "lr_group_dro", "logistic_regression_mle"]
SPEC = f"""
[scenario]
name = "select"
family = "gaussian_spurious"
description = "tiny selection scenario"

[params]
train_correlation = 0.9
n_noise = 2

[shift]
levels = [0.0, 0.5, 1.0]

[run]
n_train = [120]
n_test = 400
seeds = 3
selection = true
models = {MODELS!r}
"""


def _scenario(tmp_path, selection: bool = True):
    body = SPEC if selection else SPEC.replace("selection = true", "")
    return load_scenario(write_spec(tmp_path, "select", body=body))


def _run(tmp_path, out: str, **options) -> pd.DataFrame:
    harness.run([_scenario(tmp_path, options.pop("selection", True))], out_dir=tmp_path / out,
                jobs=1, progress=False, **options)
    return read_results(tmp_path / out)


def _choices(rows: pd.DataFrame, protocol: str) -> pd.Series:
    picked = rows[rows["selection"] == protocol].drop_duplicates(["model", "seed", "shift"])
    return picked.set_index(["model", "seed", "shift"])["config"].sort_index()


def test_search_spaces_are_checked_when_registered():
    for bad in ({"C": []}, {"C": [1, 1]}, {"C": list(range(13))}, ["C"]):
        with pytest.raises(SpurbenchError, match="search_space"):
            registry.make_model(LogisticRegression(), paradigm="discriminative", search_space=bad)


def test_a_parameter_the_estimator_lacks_is_refused_when_the_grid_is_planned(tmp_path):
    entry = registry.make_model(LogisticRegression(), paradigm="discriminative", name="lr",
                                search_space={"not_a_parameter": [1, 2]})
    every_model = load_scenario(write_spec(tmp_path, "open", body=SPEC.replace(f"models = {MODELS!r}", "")))
    with pytest.raises(SpurbenchError, match="'lr': search_space names \\['not_a_parameter'\\]"):
        harness.expand_grid([every_model], [entry])


def test_each_configuration_is_its_own_fit_and_the_defaults_are_the_fixed_one(tmp_path):
    tasks = harness.expand_grid([_scenario(tmp_path)], MODELS)
    keys = [t.key for t in tasks]
    assert len(set(keys)) == len(keys)
    configs = {m: {t.config for t in tasks if t.model == m} for m in MODELS}
    assert len(configs["logistic_regression"]) == 4  # C in {0.01, 0.1, 10} and the default 1
    assert () in configs["logistic_regression"]
    assert not any(dict(c).get("logisticregression__C") == 1.0 for c in configs["logistic_regression"])
    assert configs["logistic_regression_mle"] == {()}  # no search space: defaults only
    # the flag only adds fits: the default fits keep the keys of a run without selection
    plain = harness.expand_grid([_scenario(tmp_path, selection=False)], MODELS)
    assert {t.key for t in plain} == {t.key for t in tasks if not t.config}


def test_protocols_are_stored_as_rows_and_the_oracle_bounds_iid_on_every_shifted_test(tmp_path):
    rows = _run(tmp_path, "run")
    assert set(rows["selection"]) == {"candidate", *PROTOCOLS}
    chosen = rows[rows["selection"] != "candidate"]
    counts = chosen.groupby(["model", "seed", "shift"])["selection"].value_counts().unstack()
    assert (counts[list(PROTOCOLS)] == 1).all().all()  # every protocol once per cell and level
    wide = chosen.pivot_table(index=["model", "seed", "shift"], columns="selection", values="accuracy")
    assert (wide["oracle"] >= wide["iid"]).all() and (wide["oracle"] >= wide["fixed"]).all()
    assert (wide["oracle"] > wide["iid"]).any()  # the bound is not vacuous here
    mle = chosen[chosen["model"] == "logistic_regression_mle"]  # one candidate: the same rows
    assert mle.groupby(["seed", "shift"])["accuracy"].nunique().eq(1).all()
    # every other analysis reads the defaults only
    assert set(fixed(rows)["selection"]) == {"fixed"}


def test_selection_never_reads_test_draws(tmp_path, monkeypatch):
    clean = _run(tmp_path, "clean")
    sample = GaussianSpurious.sample

    def poisoned(self, n, shift, rng, split="test"):
        drawn = sample(self, n, shift, rng, split=split)
        if split == "test":  # labels scrambled: every test-based score changes
            drawn.y[:] = np.random.default_rng(7).permutation(drawn.y)
        return drawn

    monkeypatch.setattr(GaussianSpurious, "sample", poisoned)
    dirty = _run(tmp_path, "dirty")
    assert not np.allclose(clean["accuracy"], dirty["accuracy"])  # the poison reached the test rows
    for protocol in ("iid", "worst_group"):
        pd.testing.assert_series_equal(_choices(clean, protocol), _choices(dirty, protocol))
    assert not _choices(clean, "oracle").equals(_choices(dirty, "oracle"))


def test_resume_skips_stored_configurations_and_rebuilds_the_same_protocols(tmp_path):
    first = _run(tmp_path, "run", selection=False)
    assert set(first["selection"]) == {"fixed"}
    scenario = _scenario(tmp_path)
    total = len(harness.expand_grid([scenario]))
    summary = harness.run([scenario], out_dir=tmp_path / "run", jobs=1, progress=False, resume=True)
    assert summary.skipped == first["fit_key"].nunique() and summary.done == total - summary.skipped
    once = read_results(tmp_path / "run")
    again = harness.run([scenario], out_dir=tmp_path / "run", jobs=1, progress=False, resume=True)
    assert again.done == 0 and again.skipped == total
    pd.testing.assert_frame_equal(once, read_results(tmp_path / "run"))


def test_protocol_choices_do_not_depend_on_row_order(tmp_path):
    rows = _run(tmp_path, "run")
    fits = rows[rows["selection"].isin(["fixed", "candidate"])]
    shuffled = fits.sample(frac=1.0, random_state=3)
    key = ["selection", "model", "seed", "shift", "config"]
    pd.testing.assert_frame_equal(protocol_rows(fits).sort_values(key).reset_index(drop=True),
                                  protocol_rows(shuffled).sort_values(key).reset_index(drop=True))


def _imbalanced_groups(n: int = 600, seed: int = 0):
    """A core feature and a spurious one that agrees with y in 90% of rows: the minority groups
    (y, a) with a != y are where a spurious fit errs."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.where(rng.random(n) < 0.9, y, 1 - y)
    X = np.column_stack([y + rng.normal(0, 1.2, n), a + rng.normal(0, 0.2, n)])
    return X, y, 2 * y + a


def _group_log_loss(model, X, y, groups) -> np.ndarray:
    proba = model.predict_proba(X)[np.arange(len(y)), y]
    return np.array([-np.log(proba[groups == g]).mean() for g in np.unique(groups)])


def test_group_dro_lowers_the_worst_group_training_loss_below_erm_and_reweighting():
    X, y, groups = _imbalanced_groups()
    erm = GroupDROLogisticRegression().fit(X, y)  # without groups: plain logistic regression
    dro = GroupDROLogisticRegression().fit(X, y, groups=groups)
    balanced = GroupBalanced(make_pipeline(StandardScaler(), LogisticRegression())).fit(X, y, groups=groups)
    worst = {name: _group_log_loss(m, X, y, groups).max()
             for name, m in (("erm", erm), ("dro", dro), ("balanced", balanced))}
    assert worst["dro"] < worst["balanced"] < worst["erm"]


def test_group_balanced_passes_the_weights_to_the_pipelines_last_step():
    X, y, groups = _imbalanced_groups()
    wrapped = GroupBalanced(make_pipeline(StandardScaler(), LogisticRegression())).fit(X, y, groups=groups)
    direct = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X, y, logisticregression__sample_weight=group_weights(groups, y, "balanced", 1.0))
    np.testing.assert_allclose(wrapped.predict_proba(X), direct.predict_proba(X))


def test_group_balanced_gaussian_fits_the_equal_mixture_of_each_class_groups():
    X, y, groups = _imbalanced_groups()
    model = GroupBalancedGaussian(covariance="full").fit(X, y, groups=groups)
    np.testing.assert_allclose(model.class_prior_, [0.5, 0.5])
    for k in (0, 1):
        parts = [X[groups == g] for g in np.unique(groups[y == k])]
        mean = np.mean([p.mean(axis=0) for p in parts], axis=0)  # equal weight per group
        second = np.mean([(p - mean).T @ (p - mean) / len(p) for p in parts], axis=0)
        np.testing.assert_allclose(model.means_[k], mean)
        np.testing.assert_allclose(model.covariances_[k], second + 1e-9 * X.var(axis=0).max() * np.eye(2),
                                   rtol=1e-7)
    unweighted = GroupBalancedGaussian(covariance="full").fit(X, y)
    np.testing.assert_allclose(unweighted.means_[1], X[y == 1].mean(axis=0))
