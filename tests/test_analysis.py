"""The paradigm analysis finds a planted effect, does not invent one, and picks and tests pairs right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from synthetic_results import synthetic_results

from benchmark.report import analysis

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)


def test_planted_paradigm_effect_is_found_and_covered():
    # Discriminative models lose an extra 0.08 per unit of shift; the effect at the mean shifted
    # level (0.625) is therefore 0.05. The seed is fixed, so this deterministic check asks the 95% CI
    # to cover 0.05 and exclude 0 for this one draw (it would miss 5% of draws by construction).
    rows = synthetic_results(n_scenarios=6, n_models=6, seeds=5, n_train=(500,), levels=LEVELS,
                             paradigm_effect=0.08, model_spread=0.0, random_state=1)
    effects = analysis.paradigm_effects(rows).set_index("family")
    overall = effects.loc[analysis.ALL_FAMILIES]
    assert overall["centre_shift"] == pytest.approx(np.mean(LEVELS[1:]))
    assert 0 < overall["ci_low"] <= 0.08 * overall["centre_shift"] <= overall["ci_high"]
    assert overall["slope_ci_low"] <= 0.08 <= overall["slope_ci_high"]
    assert overall["n_clusters"] == 6 * 5
    assert set(effects.index) == set(rows["family"]) | {analysis.ALL_FAMILIES}


def test_no_planted_effect_gives_false_positive_rate_consistent_with_five_percent():
    # 100 independent null data sets (seeds 0..99). With a calibrated 95% CI the number that
    # exclude 0 is Binomial(100, 0.05): P(X = 0) = 0.006 and P(X > 12) = 0.001, so outside
    # 1..12 means the intervals are too wide or too narrow.
    rejections = 0
    for seed in range(100):
        rows = synthetic_results(n_scenarios=4, n_models=4, seeds=4, n_train=(100,),
                                 levels=(0.0, 0.5, 1.0), model_spread=0.0, random_state=seed)
        effect = analysis.paradigm_effects(rows).iloc[0]
        rejections += not effect["ci_low"] <= 0 <= effect["ci_high"]
    assert 1 <= rejections <= 12


def test_family_with_one_paradigm_has_no_effect_row():
    rows = synthetic_results(n_scenarios=2, n_models=4, seeds=3, n_train=(100,), levels=(0.0, 1.0))
    rows = rows[rows["paradigm"] != "discriminative"]
    assert analysis.paradigm_effects(rows).empty


def _scenario(name: str, accuracies: dict[str, tuple[str, list[float]]]) -> list[dict]:
    """Rows of one scenario: per model (paradigm, shifted accuracy per seed); shift-0 rows at 0.9."""
    rows = []
    for model, (paradigm, per_seed) in accuracies.items():
        for seed, acc in enumerate(per_seed):
            for shift, value in ((0.0, 0.9), (1.0, acc)):
                rows.append({"scenario": name, "family": "f", "model": model, "paradigm": paradigm,
                             "seed": seed, "n_train": 100, "shift": shift, "accuracy": value,
                             "status": "ok"})
    return rows


def test_paired_comparison_picks_best_of_each_paradigm_and_holm_corrects():
    frame = pd.DataFrame(
        _scenario("s1", {"g_low": ("generative", [0.1, 0.1, 0.1]),
                         "g_best": ("generative", [0.5, 0.6, 0.7]),
                         "d_best": ("discriminative", [0.6, 0.8, 1.0]),
                         "d_low": ("discriminative", [0.2, 0.2, 0.2]),
                         "bayes_oracle": ("oracle", [1.0, 1.0, 1.0])})
        + _scenario("s2", {"g": ("generative", [0.5, 0.5, 0.6]),
                           "d": ("discriminative", [0.4, 0.5, 0.4])}))
    table = analysis.paired_comparisons(frame).set_index("scenario")
    s1 = table.loc["s1"]
    assert (s1["best_generative"], s1["best_discriminative"]) == ("g_best", "d_best")
    # differences per seed 0.1, 0.2, 0.3: mean 0.2, sd 0.1, t = 0.2 / (0.1 / sqrt 3)
    assert s1["difference"] == pytest.approx(0.2)
    assert s1["t"] == pytest.approx(0.2 / (0.1 / np.sqrt(3)))
    assert s1["p_value"] == pytest.approx(2 * stats.t.sf(0.2 / (0.1 / np.sqrt(3)), 2))
    half = stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)
    assert (s1["ci_low"], s1["ci_high"]) == pytest.approx((0.2 - half, 0.2 + half))
    assert table.loc["s2", "difference"] == pytest.approx(-0.1)
    expected = multipletests(table["p_value"], 0.05, "holm")[1]
    assert table["p_holm"].to_numpy() == pytest.approx(expected)


def test_paired_comparison_leaves_p_value_missing_without_variation():
    frame = pd.DataFrame(_scenario("s", {"g": ("generative", [0.5, 0.5]),
                                         "d": ("discriminative", [0.6, 0.6])}))
    row = analysis.paired_comparisons(frame).iloc[0]
    assert row["difference"] == pytest.approx(0.1)
    assert np.isnan(row["p_value"]) and np.isnan(row["p_holm"])
