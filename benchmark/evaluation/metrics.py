"""Every metric, as pure functions of arrays (per test sample) or of tidy result frames.

Probabilities are (n, k) arrays whose columns follow the class labels 0..k-1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

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
    """Area under the ROC curve of P(y = 1); NaN unless the task is binary with both classes.

    Computed as the Mann-Whitney statistic from mid-ranks (ties count one half), which is
    exactly sklearn's `roc_auc_score` without its input validation: this runs once per row of
    every fit.
    """
    proba, y = np.asarray(proba), np.asarray(y)
    if proba.shape[1] != 2 or len(np.unique(y)) != 2:
        return float("nan")
    ranks = stats.rankdata(proba[:, 1])
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = len(y) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


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


# --- Frame-level metrics: pure functions of tidy result frames (one row per scenario, shift,
# model, seed and n_train, with the columns of `spurbench.harness.store.COLUMNS`).

FIT_KEYS = ["scenario", "model", "seed", "n_train"]
PROBIT_CLIP = 1e-3


def oracle_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """Accuracy left on the table: ``bayes_gap`` and ``invariant_gap`` (oracle minus model).

    The Bayes gap is what no classifier can beat; the invariant gap can be negative, since
    reading the spurious features pays off near the training distribution.
    """
    return pd.DataFrame({
        "bayes_gap": frame["bayes_accuracy"] - frame["accuracy"],
        "invariant_gap": frame["invariant_accuracy"] - frame["accuracy"],
    }, index=frame.index)


def degradation(frame: pd.DataFrame, metric: str = "accuracy") -> pd.Series:
    """Drop of `metric` from shift 0: value at shift 0 minus value at the row's shift.

    Computed within one fit (scenario, model, seed, n_train), so it is paired: the same fitted
    model scored on its own training distribution. Positive means worse under shift; NaN where the
    fit has no shift-0 row.
    """
    at_zero = frame.loc[frame["shift"] == 0, [*FIT_KEYS, metric]].rename(columns={metric: "_base"})
    base = frame[FIT_KEYS].merge(at_zero, on=FIT_KEYS, how="left")["_base"].to_numpy()
    return pd.Series(base - frame[metric].to_numpy(), index=frame.index, name=f"{metric}_degradation")


def normalised_auc(frame: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Area under the `metric`-versus-shift curve divided by the shift range, one row per fit.

    Trapezoid rule over the scenario's listed levels, so a flat curve scores its own height and
    the value stays on the metric's scale. NaN when a fit misses a level (or its value) or the
    scenario lists a single level. Computed one scenario at a time on a (fits x levels) matrix,
    not one fit at a time: the report calls it on every row of a run.
    """
    levels = frame.groupby("scenario")["shift"].unique().map(np.sort)
    data = frame[[*FIT_KEYS, "shift", "paradigm", metric]].dropna(subset=FIT_KEYS)
    data = data.sort_values([*FIT_KEYS, "shift"], kind="stable").reset_index(drop=True)
    fit_id = data.groupby(FIT_KEYS, sort=False).ngroup().to_numpy()
    starts = np.flatnonzero(np.r_[True, fit_id[1:] != fit_id[:-1]])
    sizes = np.diff(np.r_[starts, len(data)])
    fits = data.loc[starts, [*FIT_KEYS, "paradigm"]].reset_index(drop=True)
    x, y = data["shift"].to_numpy(float), data[metric].to_numpy(float)
    area = np.full(len(starts), np.nan)
    for scenario, members in fits.groupby("scenario", sort=False).indices.items():
        expected = levels[scenario]
        if len(expected) < 2:
            continue
        members = members[sizes[members] == len(expected)]
        rows = starts[members][:, None] + np.arange(len(expected))
        complete = (x[rows] == expected).all(axis=1)
        area[members[complete]] = (np.trapezoid(y[rows[complete]], expected, axis=1)
                                   / (expected[-1] - expected[0]))
    columns = [*FIT_KEYS, "paradigm"]  # rebuilt from Python values: the dtypes of a plain frame
    rows = zip(*(fits[c].tolist() for c in columns), area.tolist(), strict=True)
    return pd.DataFrame(list(rows), columns=[*columns, f"{metric}_nauc"])


def probit(p: np.ndarray | pd.Series) -> np.ndarray:
    """Phi^-1 of probabilities clipped to [PROBIT_CLIP, 1 - PROBIT_CLIP] (so 0 and 1 stay finite)."""
    # special.ndtri is what stats.norm.ppf computes, without its per-call argument checks: probit
    # axes call this for every point they draw.
    return special.ndtri(np.clip(np.asarray(p, dtype=float), PROBIT_CLIP, 1 - PROBIT_CLIP))


def effective_robustness(frame: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Effective robustness (Taori et al. 2020; Miller et al. 2021) of every model at every shift.

    Per scenario, n_train and shifted level, each model is one point (probit of its mean
    in-distribution `metric`, probit of its mean shifted `metric`; means over seeds). A least-
    squares line is fitted through the non-oracle models' points (oracles know the test
    distribution, so they are not on the learners' line); a model's effective robustness is its
    shifted value minus the line's prediction mapped back through Phi, in accuracy points.
    NaN where fewer than three models give the fit (two points always fit exactly) or their
    in-distribution values coincide.
    """
    means = frame.groupby(["scenario", "n_train", "shift", "model", "paradigm"], as_index=False)[
        metric].mean()
    id_means = means.loc[means["shift"] == 0, ["scenario", "n_train", "model", metric]]
    points = means[means["shift"] > 0].merge(id_means, on=["scenario", "n_train", "model"],
                                              suffixes=("", "_id"))
    points = points.rename(columns={metric: "shifted", f"{metric}_id": "in_distribution"})
    points = points.dropna(subset=["shifted", "in_distribution"])
    cell = points.groupby(["scenario", "n_train", "shift"], sort=True).ngroup().to_numpy()
    order = np.argsort(cell, kind="stable")  # cell by cell, in the cells' sorted order
    points, cell = points.iloc[order], cell[order]
    x, y = probit(points["in_distribution"]), probit(points["shifted"])
    learner = (points["paradigm"] != "oracle").to_numpy()
    slope, intercept = np.full(len(points), np.nan), np.full(len(points), np.nan)
    for rows in np.split(np.arange(len(points)), np.flatnonzero(np.diff(cell)) + 1):
        fit = rows[learner[rows]]
        if len(fit) >= 3 and np.ptp(x[fit]) > 0:
            slope[rows], intercept[rows] = np.polyfit(x[fit], y[fit], 1)
    predicted = special.ndtr(intercept + slope * x)
    columns = ["scenario", "n_train", "shift", "model", "paradigm", "in_distribution", "shifted",
               "predicted", "effective_robustness", "slope", "intercept"]
    out = points.assign(predicted=predicted, effective_robustness=points["shifted"] - predicted,
                        slope=slope, intercept=intercept)
    return out.reset_index(drop=True)[columns]
