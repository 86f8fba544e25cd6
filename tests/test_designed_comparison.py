"""The data side of the designed paradigm comparison: a declared panel that every shifted scenario
runs, enough seeds, a fresh real-data split per seed, population-sized Monte-Carlo oracles with
their standard errors, a validation sample of its own, and degenerate fits flagged per row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from spurbench.evaluation.fit_checks import chance_fit, fit_flags
from spurbench.generators.gaussian_spurious import GaussianSpurious
from spurbench.harness.fitting import FitTask, run_fit
from spurbench.harness.grid import models_for
from spurbench.harness.oracles import MC_DRAWS, _monte_carlo
from spurbench.harness.seeding import rng_for
from spurbench.harness.spec import load_scenarios
from spurbench.registry import GROUPS, PANEL, get_model, list_models

SCENARIOS = load_scenarios()
SHIFTED = [s for s in SCENARIOS if len(s.shift_levels) > 1]
REAL_FAMILIES = ("patched_digits", "tabular_injection")


@pytest.mark.parametrize("scenario", SHIFTED, ids=lambda s: s.name)
def test_every_shifted_scenario_runs_the_whole_panel(scenario):
    """Except an experiment's own sweep outside the headline suite (the phase diagram's linear
    pairs): `report.prepare.panel` keeps such a scenario out of every average over others."""
    if scenario.experiment and not scenario.headline:
        assert {e.name for e in models_for(scenario, None)} & set(PANEL)
        return
    assert set(PANEL) <= {e.name for e in models_for(scenario, None)}


def test_the_panel_spans_the_four_groups_and_every_other_model_is_a_reference():
    groups = {get_model(name).group for name in PANEL}
    assert groups == set(GROUPS)
    for entry in list_models():
        in_averages = entry.name in PANEL
        assert entry.reference is not in_averages, entry.name


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_scenario_has_at_least_ten_seeds(scenario):
    """Ten seeds at least (the earlier scenarios have 20): seeds are not what limits the design,
    families are (issue 27), so the scenarios added for more families run 10 to fit the
    60-minute paper budget."""
    assert scenario.seeds >= 10


@pytest.mark.parametrize("name", ["tabular_wine", "patched_digits"])
def test_real_data_scenarios_train_each_seed_on_a_fresh_split(name):
    scenario = next(s for s in SCENARIOS if s.name == name)
    gen = scenario.generator()
    pools = [gen.resplit(FitTask(scenario, "lda", seed, 10).split_rng()).pool for seed in (0, 1)]
    again = gen.resplit(FitTask(scenario, "qda", 0, 10).split_rng()).pool
    # Deterministic per seed and shared by every model of the seed ...
    np.testing.assert_array_equal(pools[0].rows("test"), again.rows("test"))
    # ... different between seeds, disjoint within a seed, same sizes and class shares.
    assert not np.array_equal(pools[0].rows("test"), pools[1].rows("test"))
    for pool in pools:
        assert not set(pool.rows("train")) & set(pool.rows("test"))
        assert pool.size("test") == gen.pool.size("test")
        np.testing.assert_array_equal(np.bincount(pool.y[pool.rows("test")]),
                                      np.bincount(gen.pool.y[gen.pool.rows("test")]))


def test_real_data_rows_differ_between_seeds_at_the_whole_train_pool():
    scenario = next(s for s in SCENARIOS if s.name == "tabular_wine")
    accuracies = {run_fit(FitTask(scenario, "gaussian_nb", seed, max(scenario.n_train))).rows[-1]["accuracy"]
                  for seed in range(4)}
    assert len(accuracies) > 1  # a fixed split gave one value for every seed


@pytest.mark.parametrize("shift", [0.0, 0.5, 1.0])
def test_monte_carlo_oracles_match_the_closed_form_within_four_standard_errors(shift):
    gen = GaussianSpurious(train_correlation=0.9, n_core=1, n_spurious=1, n_noise=1)
    estimate = _monte_carlo(gen, shift, rng_for(0, "mc-check", shift))
    for column, exact in (("bayes_accuracy", gen.bayes_accuracy(shift)),
                          ("invariant_accuracy", gen.invariant_accuracy(shift))):
        se = np.sqrt(exact * (1 - exact) / MC_DRAWS)
        assert abs(estimate[column] - exact) < 4 * se, (column, estimate[column], exact)


def test_monte_carlo_rows_carry_their_standard_error_and_respect_the_bound():
    scenario = next(s for s in SCENARIOS if s.name == "multiclass_spurious")
    rows = run_fit(FitTask(scenario, "gaussian_nb", 0, min(scenario.n_train))).rows
    for row in rows:
        assert row["status"] == "ok"
        se = np.hypot(row["bayes_accuracy_se"], row["invariant_accuracy_se"])
        assert 0 < row["bayes_accuracy_se"] < 0.002
        assert row["bayes_accuracy"] >= row["invariant_accuracy"] - 4 * se


def test_validation_and_test_streams_are_their_own_and_shared_by_every_model():
    scenario = SHIFTED[0]
    a, b = FitTask(scenario, "lda_shrinkage", 3, 200), FitTask(scenario, "mlp", 3, 200)
    draw = lambda rng: rng.standard_normal(4)  # noqa: E731
    np.testing.assert_array_equal(draw(a.validation_rng()), draw(b.validation_rng()))
    assert not np.array_equal(draw(a.validation_rng()), draw(a.test_rng(0.0)))
    assert not np.array_equal(draw(a.validation_rng()), draw(a.train_rng()))


def test_a_fit_reports_training_validation_and_majority_rates():
    scenario = next(s for s in SCENARIOS if s.name == "label_shift")
    rows = run_fit(FitTask(scenario, "logistic_regression", 0, min(scenario.n_train))).rows
    assert len({(r["train_accuracy"], r["val_accuracy"]) for r in rows}) == 1  # one per fit
    last = rows[-1] if rows[-1]["shift"] == 1.0 else max(rows, key=lambda r: r["shift"])
    assert last["majority_accuracy"] > 0.9  # the prior moves to P(y = 1) = 0.05
    assert all(0 <= r["val_worst_group_accuracy"] <= r["val_accuracy"] + 1e-12 for r in rows)


def test_flags_singular_covariance_for_plain_lda_with_more_features_than_rows():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 60)), np.repeat([0, 1], 15)
    lda = get_model("lda").build(0).fit(X, y)
    shrunk = get_model("lda_shrinkage").build(0).fit(X, y)
    assert "singular_covariance" in fit_flags(lda, [], 1.0, y)
    assert fit_flags(shrunk, [], 1.0, y) == ""


def test_flags_a_fit_at_chance_on_validation_and_a_fit_that_did_not_converge():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((400, 3)), (rng.random(400) < 0.7).astype(int)
    constant = DummyClassifier(strategy="most_frequent").fit(X, y)
    val_accuracy = float(np.mean(constant.predict(X) == y))
    assert chance_fit(val_accuracy, y) and fit_flags(constant, [], val_accuracy, y) == "chance_fit"
    assert not chance_fit(0.9, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier(max_iter=1, random_state=0).fit(X, X[:, 0] > 0)
    assert any(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert "not_converged" in fit_flags(constant, caught, 0.99, y)


def test_flags_read_mixture_covariances_with_different_component_counts_per_class():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.standard_normal((150, 2)), rng.standard_normal((150, 2)) * [1, 3] + [6, 0],
                   rng.standard_normal((150, 2)) + 3])
    y = np.repeat([0, 1], [300, 150])
    gmm = get_model("gmm_classifier").build(0).fit(X, y)
    assert fit_flags(gmm, [], 0.95, y) == ""


def test_missing_value_strategy_is_separated_from_paradigm():
    # The same generative model imputed, and a discriminative model left to handle NaN itself.
    scenario = next(s for s in SCENARIOS if s.name == "missing_features")
    handling = {name: run_fit(FitTask(scenario, name, 0, 200)).rows[-1]["missing_handling"]
                for name in ("gaussian_nb", "gaussian_nb_imputed", "hist_gradient_boosting",
                             "hist_gradient_boosting_native")}
    assert handling == {"gaussian_nb": "native", "gaussian_nb_imputed": "mean_imputation",
                        "hist_gradient_boosting": "mean_imputation",
                        "hist_gradient_boosting_native": "native"}
    others = next(s for s in SCENARIOS if s.name == "spurious_gaussian")
    assert not {"gaussian_nb_imputed", "hist_gradient_boosting_native"} & {
        e.name for e in models_for(others, None)}  # opt-in: only where named


def _headline_spec(directory, name: str, extra: str = "", levels: str = "[0.0, 0.5, 1.0]"):
    from spec_helpers import TINY_SPEC, write_spec

    body = TINY_SPEC.format(name=name, n_train="100", seeds=2).replace(
        'description = "tiny test scenario"', 'description = "tiny test scenario"\nheadline = true')
    return write_spec(directory, name, body=body.replace("[0.0, 0.5, 1.0]", levels) + extra)


def test_the_headline_suite_takes_at_most_three_shifted_whole_panel_scenarios_per_family(tmp_path):
    from spurbench.errors import SpecError
    from spurbench.harness.spec import load_scenarios

    for i in range(3):
        _headline_spec(tmp_path, f"h{i}")
    assert all(s.headline for s in load_scenarios([tmp_path]))
    _headline_spec(tmp_path, "h3")
    with pytest.raises(SpecError, match=r"family 'gaussian_spurious' has 4 headline scenarios .* at most 3"):
        load_scenarios([tmp_path])
    alone = tmp_path / "alone"
    alone.mkdir()
    _headline_spec(alone, "unshifted", levels="[0.0]")
    with pytest.raises(SpecError, match=r"scenario.headline: a headline scenario needs shift levels"):
        load_scenarios([alone])
    partial = tmp_path / "partial"
    partial.mkdir()
    _headline_spec(partial, "partial", extra='models = ["gaussian_nb", "logistic_regression"]\n')
    with pytest.raises(SpecError, match=r"runs the whole panel"):
        load_scenarios([partial])
