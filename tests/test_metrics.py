"""Every metric against a case small enough to compute by hand (the arithmetic is in comments)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.evaluation import metrics


def test_accuracy_is_fraction_correct():
    assert metrics.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75


def test_balanced_accuracy_averages_per_class_recall():
    # class 0: 2 of 3 right, class 1: 1 of 1 -> (2/3 + 1) / 2
    assert metrics.balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(5 / 6)


def test_worst_group_accuracy_is_lowest_group_and_accuracy_without_groups():
    y, pred, group = [0, 1, 0, 1], [0, 1, 1, 1], [0, 0, 1, 1]
    assert metrics.worst_group_accuracy(y, pred, group) == 0.5  # group 0: 2/2, group 1: 1/2
    assert metrics.worst_group_accuracy(y, pred, None) == 0.75


def test_log_loss_is_mean_negative_log_probability_of_truth():
    proba = np.array([[0.8, 0.2], [0.4, 0.6]])
    assert metrics.log_loss([0, 1], proba) == pytest.approx(-(math.log(0.8) + math.log(0.6)) / 2)


def test_log_loss_stays_finite_for_zero_probability_of_truth():
    assert metrics.log_loss([1], np.array([[1.0, 0.0]])) == pytest.approx(-math.log(1e-15))


def test_brier_score_is_mean_squared_distance_to_one_hot():
    # (0.2^2 + 0.2^2 + 0.4^2 + 0.4^2) / 2 = 0.2
    assert metrics.brier_score([0, 1], np.array([[0.8, 0.2], [0.4, 0.6]])) == pytest.approx(0.2)


def test_ece_weights_bin_gaps_by_bin_share():
    # confidences 0.95 (bin 14: one right, one wrong) and 0.55 (bin 8: both right):
    # 0.5 * |0.5 - 0.95| + 0.5 * |1 - 0.55| = 0.45
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.45, 0.55], [0.45, 0.55]])
    assert metrics.expected_calibration_error([0, 1, 1, 1], proba) == pytest.approx(0.45)


def test_ece_uses_fifteen_equal_width_bins():
    # 0.62 and 0.68 fall in bins 9 and 10 of 15 (but would share a bin with 10 bins):
    # 0.5 * |1 - 0.62| + 0.5 * |0 - 0.68| = 0.53 (10 bins would give |0.5 - 0.65| = 0.15)
    proba = np.array([[0.62, 0.38], [0.68, 0.32]])
    assert metrics.ECE_BINS == 15
    assert metrics.expected_calibration_error([0, 1], proba) == pytest.approx(0.53)


def test_ece_puts_confidence_one_in_the_last_bin():
    assert metrics.expected_calibration_error([0], np.array([[1.0, 0.0]])) == 0.0


def test_auroc_counts_correctly_ordered_pairs():
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered
    proba1 = np.array([0.1, 0.4, 0.35, 0.8])
    assert metrics.auroc([0, 0, 1, 1], np.c_[1 - proba1, proba1]) == pytest.approx(0.75)


def test_auroc_equals_sklearns_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = np.round(rng.random(500) * 0.5 + 0.3 * y, 2)  # many ties
    assert metrics.auroc(y, np.c_[1 - p, p]) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


def test_auroc_is_nan_for_multiclass_or_single_class():
    assert math.isnan(metrics.auroc([0, 1, 2], np.full((3, 3), 1 / 3)))
    assert math.isnan(metrics.auroc([1, 1], np.array([[0.2, 0.8], [0.6, 0.4]])))


def test_spurious_reliance_is_flip_rate_and_nan_without_counterfactual():
    assert metrics.spurious_reliance([0, 1, 1, 0], [0, 0, 1, 1]) == 0.5
    assert math.isnan(metrics.spurious_reliance([0, 1], None))


def test_score_predictions_uses_argmax_for_every_metric():
    proba = np.array([[0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    cf = np.array([[0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    scores = metrics.score_predictions(np.array([0, 1, 0]), proba, np.array([0, 1, 1]), cf)
    assert scores["accuracy"] == pytest.approx(2 / 3)
    assert scores["worst_group_accuracy"] == 0.5
    assert scores["spurious_reliance"] == pytest.approx(1 / 3)


def _fit_rows(values: dict[float, float], model: str = "m", seed: int = 0, **extra) -> list[dict]:
    """One fit's rows: {shift: accuracy}."""
    return [{"scenario": "s", "model": model, "paradigm": "generative", "seed": seed, "n_train": 100,
             "shift": shift, "accuracy": acc, **extra} for shift, acc in values.items()]


def test_degradation_is_drop_from_shift_zero_within_the_same_fit():
    frame = pd.DataFrame(_fit_rows({0.0: 0.9, 0.5: 0.8, 1.0: 0.6})
                         + _fit_rows({0.0: 0.7, 1.0: 0.75}, seed=1)
                         + _fit_rows({1.0: 0.5}, seed=2))
    assert metrics.degradation(frame).tolist() == pytest.approx([0, 0.1, 0.3, 0, -0.05, np.nan],
                                                                nan_ok=True)


def test_oracle_gaps_subtract_accuracy_from_each_oracle():
    frame = pd.DataFrame({"accuracy": [0.7], "bayes_accuracy": [0.9], "invariant_accuracy": [0.65]})
    gaps = metrics.oracle_gaps(frame)
    assert gaps.loc[0, "bayes_gap"] == pytest.approx(0.2)
    assert gaps.loc[0, "invariant_gap"] == pytest.approx(-0.05)


@pytest.mark.parametrize(("curve", "expected"), [
    ({0.0: 0.9, 0.5: 0.7, 1.0: 0.5}, 0.7),    # 0.5 * 0.8 + 0.5 * 0.6
    ({0.0: 1.0, 0.25: 0.8, 1.0: 0.2}, 0.6),   # 0.25 * 0.9 + 0.75 * 0.5 (uneven levels)
    ({0.0: 0.8, 0.5: 0.6}, 0.7),              # 0.5 * 0.7 / range 0.5
])
def test_normalised_auc_is_trapezoid_over_levels_divided_by_range(curve, expected):
    auc = metrics.normalised_auc(pd.DataFrame(_fit_rows(curve)))
    assert auc["accuracy_nauc"].item() == pytest.approx(expected)


def test_normalised_auc_is_nan_when_a_fit_misses_a_level_or_only_one_level_exists():
    frame = pd.DataFrame(_fit_rows({0.0: 0.9, 0.5: 0.7, 1.0: 0.5})
                         + _fit_rows({0.0: 0.9, 1.0: 0.5}, seed=1))
    assert metrics.normalised_auc(frame)["accuracy_nauc"].isna().tolist() == [False, True]
    assert metrics.normalised_auc(pd.DataFrame(_fit_rows({0.0: 0.9})))["accuracy_nauc"].isna().all()


def test_probit_keeps_perfect_accuracy_finite():
    assert metrics.probit(1.0) == pytest.approx(stats.norm.ppf(1 - metrics.PROBIT_CLIP))


def _er_frame(points: dict[str, tuple[float, float, str]]) -> pd.DataFrame:
    """Models at probit coordinates (in-distribution, shifted), two seeds with equal values."""
    rows = []
    for model, (x, y, paradigm) in points.items():
        for seed in (0, 1):
            rows += [{"scenario": "s", "model": model, "paradigm": paradigm, "seed": seed,
                      "n_train": 100, "shift": s, "accuracy": stats.norm.cdf(v)}
                     for s, v in ((0.0, x), (1.0, y))]
    return pd.DataFrame(rows)


def test_effective_robustness_is_residual_from_probit_line_through_learners():
    # learners at x = -1, 0, 1 with y = -1, 0.5, 0: slope = sum(x y) / sum(x^2) = 1/2,
    # intercept = mean(y) = -1/6. The oracle is off the line and must not move it.
    frame = _er_frame({"a": (-1, -1, "generative"), "b": (0, 0.5, "discriminative"),
                       "c": (1, 0, "generative"), "bayes_oracle": (2, 2, "oracle")})
    er = metrics.effective_robustness(frame).set_index("model")
    assert er["slope"].iloc[0] == pytest.approx(0.5)
    assert er["intercept"].iloc[0] == pytest.approx(-1 / 6)
    assert er.loc["b", "effective_robustness"] == pytest.approx(stats.norm.cdf(0.5) - stats.norm.cdf(-1 / 6))
    assert er.loc["bayes_oracle", "effective_robustness"] == pytest.approx(
        stats.norm.cdf(2) - stats.norm.cdf(-1 / 6 + 0.5 * 2))


def test_effective_robustness_needs_three_learners():
    frame = _er_frame({"a": (-1, -1, "generative"), "b": (0, 0.5, "discriminative")})
    assert metrics.effective_robustness(frame)["effective_robustness"].isna().all()

