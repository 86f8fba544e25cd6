"""The paradigm analysis finds a planted effect, does not invent one, weighs families equally,
picks "best" on validation only and applies the exclusion rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spurbench.report import analysis
from synthetic_results import synthetic_results

LEVELS = (0.0, 0.5, 1.0)


def _small(**overrides) -> pd.DataFrame:
    options = {"n_scenarios": 8, "n_models": 4, "seeds": 5, "n_train": (200,), "levels": LEVELS,
               "model_spread": 0.0} | overrides
    return synthetic_results(**options)


def _paradigm_drop(frame: pd.DataFrame) -> dict:
    return analysis.family_estimate(analysis.paradigm_drop_differences(frame))


def test_planted_paradigm_effect_is_covered_by_the_family_level_interval():
    # Discriminative models lose an extra 0.08 per unit of shift, so their drop (mean over the
    # shifted levels 0.5 and 1) is larger by 0.08 * 0.75 = 0.06. One fixed draw: the interval must
    # cover 0.06 and exclude 0 (a calibrated 95% interval misses 5% of draws by construction).
    fit = _paradigm_drop(_small(paradigm_effect=0.08, random_state=1))
    assert fit["method"] == analysis.FAMILY_T
    assert 0 < fit["ci_low"] <= 0.06 <= fit["ci_high"]
    assert fit["n_scenarios"] == 8 and fit["clusters"] == fit["n_families"] == 4
    assert fit["n_units"] == 8 * 5


def test_without_an_effect_the_interval_covers_zero_in_most_replications():
    # 20 independent null data sets. Nominal coverage is 95% (t on families - 1 degrees of freedom
    # is if anything conservative); the tolerance is 16 of 20 (80%): under exact 95% coverage
    # P(fewer than 16) = 1.6%, and these draws are fixed, so the test is deterministic.
    covered = 0
    for seed in range(20):
        fit = _paradigm_drop(_small(random_state=100 + seed, flagged=False))
        covered += fit["ci_low"] <= 0 <= fit["ci_high"]
    assert covered >= 16


def test_a_single_family_falls_back_to_scenario_means_and_a_single_scenario_to_seeds():
    frame = _small(n_scenarios=4)  # the first four scenarios are all gaussian_spurious
    fit = _paradigm_drop(frame)
    assert fit["method"] == analysis.SCENARIO_T and fit["clusters"] == 4
    one = _paradigm_drop(frame[frame["scenario"] == "spurious_gaussian"])
    assert one["method"] == analysis.SEED_T and one["clusters"] == 5


def test_families_weigh_equally_whatever_their_number_of_scenarios_and_seeds():
    # Family a: two scenarios, means over seeds 0.10 and 0.30 -> family mean 0.20 (its 3 seeds on
    # s1 and 1 on s2 do not change that). Family b: one scenario at 0.00. Family c: 0.40.
    # Estimate = (0.20 + 0.00 + 0.40) / 3 = 0.20; sd of family means = 0.20, se = 0.20 / sqrt(3),
    # half-width = t(0.975, 2) * se = 4.302653 * 0.1154701 = 0.4968276.
    # Leaving one out: without a (0.0 + 0.4) / 2 = 0.2, without b 0.3, without c 0.1.
    diffs = pd.DataFrame({
        "family": ["a", "a", "a", "a", "b", "b", "c"],
        "scenario": ["s1", "s1", "s1", "s2", "s3", "s3", "s4"],
        "seed": [0, 1, 2, 0, 0, 1, 0],
        "difference": [0.05, 0.10, 0.15, 0.30, -0.01, 0.01, 0.40]})
    fit = analysis.family_estimate(diffs)
    assert fit["method"] == analysis.FAMILY_T and fit["clusters"] == 3
    assert fit["estimate"] == pytest.approx(0.20)
    # (to the tables' six significant digits)
    assert (fit["ci_low"], fit["ci_high"]) == pytest.approx((0.20 - 0.4968276, 0.20 + 0.4968276), rel=1e-5)
    assert (fit["lofo_low"], fit["lofo_high"]) == pytest.approx((0.1, 0.3))


def test_a_collapsed_family_variance_never_narrows_the_interval_to_scenario_noise():
    # Three families whose means agree exactly but whose scenarios vary a lot within them: the
    # interval is over the three family means (zero spread: no interval), never over the six
    # scenario means, which would call a clear effect from within-family variation.
    diffs = pd.DataFrame({"family": ["a", "a", "b", "b", "c", "c"],
                          "scenario": ["s1", "s2", "s3", "s4", "s5", "s6"], "seed": 0,
                          "difference": [0.0, 0.2, 0.05, 0.15, 0.08, 0.12]})
    fit = analysis.family_estimate(diffs)
    assert fit["estimate"] == pytest.approx(0.1) and np.isnan(fit["ci_low"]) and fit["clusters"] == 3


def test_a_contrast_with_no_spread_has_no_interval_and_a_missing_side_no_units():
    diffs = pd.DataFrame({"family": ["a", "a", "b", "b"], "scenario": ["s", "s", "t", "t"],
                          "seed": [0, 1, 0, 1], "difference": 0.1})
    fit = analysis.family_estimate(diffs)
    assert fit["estimate"] == pytest.approx(0.1) and np.isnan(fit["ci_low"])
    outcomes = analysis.fit_outcomes(_small(n_models=2))  # gaussian_nb and logistic_regression only
    assert analysis.differences(outcomes, analysis.GROUP_CONTRASTS[3], "drop").empty


def test_best_of_a_side_is_chosen_on_validation_accuracy_never_on_test_draws():
    frame = _small(n_models=8, flagged=False)
    before = analysis.best_models(frame)
    poisoned = frame.copy()
    test_rows = (poisoned["model"] == "nb_shared_var") & (poisoned["shift"] > 0)
    poisoned.loc[test_rows, "accuracy"] = 1.0  # perfect on every shifted test draw
    pd.testing.assert_frame_equal(analysis.best_models(poisoned), before)
    assert (before["parametric_generative"] != "nb_shared_var").any()
    lifted = frame.copy()
    lifted.loc[lifted["model"] == "nb_shared_var", "val_accuracy"] = 0.999
    assert (analysis.best_models(lifted)["parametric_generative"] == "nb_shared_var").all()


def test_flagged_fits_leave_the_averages_and_return_in_the_sensitivity_analysis():
    frame = _small(n_models=12, n_scenarios=6)
    kept = analysis.fit_outcomes(frame)
    every = analysis.fit_outcomes(frame, include_flagged=True)
    # FLAGGED: one mlp chance fit (scenario 5) and one qda singular fit (scenario 1) are dropped;
    # the non-converged logistic_regression_mle fit stays.
    assert len(every) - len(kept) == 2
    assert "logistic_regression_mle" in set(kept.loc[kept["scenario"] == "spurious_gaussian", "model"])
    table = analysis.exclusions(frame).set_index(["model", "flag"])
    assert table.loc[("mlp", "chance_fit"), "rows_excluded"] == len(LEVELS)
    assert table.loc[("logistic_regression_mle", "not_converged"), "rows_excluded"] == 0
    effects = analysis.effects(frame)
    both = effects[(effects["contrast"] == analysis.PARADIGM.name) & (effects["metric"] == "drop")]
    assert set(both["flagged"]) == {"excluded", "included"}


def test_every_preregistered_pair_and_group_contrast_has_an_estimate():
    effects = analysis.effects(_small(n_models=12, n_scenarios=6, seeds=3))
    expected = {c.name for c in analysis.CONTRASTS}
    assert set(effects["contrast"]) == expected
    assert effects.loc[effects["selection"] == "panel", "estimate"].notna().all()


@pytest.mark.filterwarnings("ignore:The MLE may be on the boundary")
def test_the_mixed_model_built_from_arrays_is_the_formula_model():
    # The design matrices are built without patsy; the fit must be the formula interface's (same
    # REML optimum from the same start: the estimate to the last bit, its standard error to 1e-10).
    import statsmodels.formula.api as smf

    diffs = analysis.paradigm_drop_differences(_small(paradigm_effect=0.05, random_state=3))
    points = diffs.assign(difference=analysis.SCALE * diffs["difference"])
    formula = smf.mixedlm("difference ~ 1", points, groups="family", re_formula="1",
                          vc_formula={"scenario": "0 + C(scenario)"})
    arrays = analysis._nested_intercepts(points["difference"].to_numpy(), points["family"].to_numpy(),
                                         points["scenario"].to_numpy())
    expected, got = (m.fit(reml=True, method=["powell", "lbfgs"]) for m in (formula, arrays))
    assert got.fe_params["Intercept"] == expected.fe_params["Intercept"]
    assert got.bse_fe["Intercept"] == pytest.approx(expected.bse_fe["Intercept"], rel=1e-10)
    assert got.vcomp == pytest.approx(expected.vcomp, rel=1e-10)


def test_best_of_a_side_breaks_ties_by_model_name_and_skips_a_scenario_missing_a_side():
    outcomes = analysis.fit_outcomes(_small(n_models=8, flagged=False))
    outcomes["val_accuracy"] = 0.9  # every model ties: the first name of each side wins
    diffs, chosen = analysis.best_differences(outcomes, analysis.PARADIGM, "drop")
    plus = sorted(outcomes.loc[outcomes["paradigm"] == "discriminative", "model"].unique())[0]
    minus = sorted(outcomes.loc[outcomes["paradigm"] == "generative", "model"].unique())[0]
    assert set(chosen.values()) == {(plus, minus)}
    one_sided = outcomes[~((outcomes["scenario"] == "spurious_gaussian")
                           & (outcomes["paradigm"] == "generative"))]
    diffs, chosen = analysis.best_differences(one_sided, analysis.PARADIGM, "drop")
    assert "spurious_gaussian" not in chosen and "spurious_gaussian" not in set(diffs["scenario"])
    assert list(diffs.columns) == [*analysis.KEYS, "difference"]
    assert diffs.equals(diffs.sort_values(["scenario", "seed"], ignore_index=True))


def test_best_of_a_side_without_any_scenario_that_has_both_sides_is_empty():
    outcomes = analysis.fit_outcomes(_small(n_models=8, flagged=False))
    diffs, chosen = analysis.best_differences(outcomes[outcomes["paradigm"] == "generative"],
                                              analysis.PARADIGM, "drop")
    assert diffs.empty and list(diffs.columns) == [*analysis.KEYS, "difference"] and chosen == {}
