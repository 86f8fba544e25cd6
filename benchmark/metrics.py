"""Every metric, as pure functions of arrays (per test sample) or of tidy result frames.

Probabilities are (n, k) arrays whose columns follow the class labels 0..k-1.
"""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

ECE_BINS = 15
_EPS = 1e-15


def accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Fraction of correct predictions."""
    return float(np.mean(np.asarray(y) == np.asarray(pred)))


def balanced_accuracy(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean over the classes present in `y` of the per-class recall."""
    y, pred = np.asarray(y), np.asarray(pred)
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def worst_group_accuracy(y: np.ndarray, pred: np.ndarray, group: np.ndarray | None) -> float:
    """Lowest accuracy over the groups present in the sample (plain accuracy without groups).

    Why: a model can score well on average by getting the majority groups right and every
    minority-group example wrong; this is the metric that shows it.
    """
    if group is None:
        return accuracy(y, pred)
    y, pred, group = np.asarray(y), np.asarray(pred), np.asarray(group)
    return float(min(np.mean(pred[group == g] == y[group == g]) for g in np.unique(group)))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the true class, probabilities clipped to [1e-15, 1]."""
    p = np.clip(np.asarray(proba)[np.arange(len(y)), np.asarray(y)], _EPS, 1.0)
    return float(-np.mean(np.log(p)))


def brier_score(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean squared distance between the probability vector and the one-hot label."""
    proba = np.asarray(proba)
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), np.asarray(y)] = 1.0
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Top-label ECE with `n_bins` equal-width confidence bins on [0, 1].

    Each example falls in the bin of its highest probability (the right edge is closed so a
    confidence of 1 lands in the last bin); ECE = sum over bins of (bin share) x
    |bin accuracy - bin mean confidence|.
    """
    proba = np.asarray(proba)
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y)
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in np.unique(bins):
        members = bins == b
        ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def auroc(y: np.ndarray, proba: np.ndarray) -> float:
    """Area under the ROC curve of P(y = 1); NaN unless the task is binary with both classes."""
    proba = np.asarray(proba)
    if proba.shape[1] != 2 or len(np.unique(y)) != 2:
        return float("nan")
    return float(skm.roc_auc_score(y, proba[:, 1]))


def spurious_reliance(pred: np.ndarray, pred_counterfactual: np.ndarray | None) -> float:
    """Fraction of predictions that change when only the spurious attribute is flipped."""
    if pred_counterfactual is None:
        return float("nan")
    return float(np.mean(np.asarray(pred) != np.asarray(pred_counterfactual)))


def score_predictions(
    y: np.ndarray,
    proba: np.ndarray,
    group: np.ndarray | None = None,
    proba_counterfactual: np.ndarray | None = None,
) -> dict[str, float]:
    """Every per-sample metric of one model on one test sample."""
    pred = np.asarray(proba).argmax(axis=1)
    pred_cf = None if proba_counterfactual is None else np.asarray(proba_counterfactual).argmax(1)
    return {
        "accuracy": accuracy(y, pred),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "worst_group_accuracy": worst_group_accuracy(y, pred, group),
        "log_loss": log_loss(y, proba),
        "brier": brier_score(y, proba),
        "ece": expected_calibration_error(y, proba),
        "auroc": auroc(y, proba),
        "spurious_reliance": spurious_reliance(pred, pred_cf),
    }
