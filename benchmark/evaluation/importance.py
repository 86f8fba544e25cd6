"""How much a fitted model leans on each feature, and the share it puts on the spurious ones.

The harness's `spurious_importance` is `spurious_share(role_importance(...))`: one block
permutation per role (core, spurious, noise), the same measure for every model. Per-feature
importance (`spurbench explain`) takes one of three ways, the cheapest that applies:

* linear models with coefficients (``coef_``): |coefficient| x the feature's training standard
  deviation, averaged over the rows of ``coef_`` (one per class, or one for a binary problem).
  After a StandardScaler in a pipeline the coefficients are already per standard deviation and
  are used as they are.
* models with a `discriminant_coefficients()` method (the Gaussian generative models of
  `GaussianClassifier`: naive Bayes, LDA, QDA): the analogous discriminant coefficients
  ``pooled_cov^-1 (mean_k - mean)`` it returns, with the class covariances pooled by class
  frequency, again x the feature's standard deviation. For LDA these are its own
  coefficients; for the naive Bayes models (diagonal covariance) they reduce to
  |mean difference| / pooled sd per feature; for QDA they are the linear part of its rule.
* anything else: permutation importance, the mean increase in log loss when one feature's values
  are shuffled among the rows, on a random subsample of the given (training) rows. All shuffled
  copies are predicted in one call; the subsample shrinks with the number of features so that at
  most ``PERMUTATION_BUDGET`` rows are predicted in all (but never below ``MIN_ROWS``), with
  ``PERMUTATION_REPEATS`` shuffles per feature. Negative values (noise) are clipped to 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

MAX_ROWS = 500
MIN_ROWS = 100
PERMUTATION_REPEATS = 2
PERMUTATION_BUDGET = 10_000
_EPS = 1e-15


def _unwrap(model: Any) -> tuple[Any, bool | None]:
    """The final estimator and whether its inputs were standardised (None: other preprocessing)."""
    if not isinstance(model, Pipeline):
        return model, False
    steps = [step for _, step in model.steps[:-1] if step not in (None, "passthrough")]
    if not steps:
        return model.steps[-1][1], False
    if all(isinstance(step, StandardScaler) for step in steps):
        return model.steps[-1][1], True
    return model.steps[-1][1], None


def _linear_coefficients(final: Any) -> np.ndarray | None:
    discriminant = getattr(final, "discriminant_coefficients", None)
    if callable(discriminant):
        return np.atleast_2d(np.asarray(discriminant(), dtype=float))
    coef = getattr(final, "coef_", None)
    return None if coef is None else np.atleast_2d(np.asarray(coef, dtype=float))


def _row_log_loss(model: Any, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    proba = np.asarray(model.predict_proba(X), dtype=float)
    column = np.searchsorted(np.asarray(model.classes_), y)
    return -np.log(np.clip(proba[np.arange(len(y)), column], _EPS, None))


def permutation_importance(model: Any, X: np.ndarray, y: np.ndarray,
                           random_state: int | None) -> np.ndarray:
    """Mean increase in log loss when each feature is shuffled (see the module docstring)."""
    rng = np.random.default_rng(random_state)
    n, d = X.shape
    m = min(n, MAX_ROWS, max(MIN_ROWS, PERMUTATION_BUDGET // (PERMUTATION_REPEATS * d)))
    rows = rng.choice(n, size=m, replace=False)
    Xs, ys = X[rows], y[rows]
    base = _row_log_loss(model, Xs, ys).mean()
    increase = np.zeros(d)
    for _ in range(PERMUTATION_REPEATS):
        stacked = np.tile(Xs, (d, 1))
        for j in range(d):
            stacked[j * m:(j + 1) * m, j] = Xs[rng.permutation(m), j]
        losses = _row_log_loss(model, stacked, np.tile(ys, d)).reshape(d, m).mean(axis=1)
        increase += (losses - base) / PERMUTATION_REPEATS
    return np.clip(increase, 0.0, None)


def feature_importance(model: Any, X: np.ndarray, y: np.ndarray,
                       random_state: int | None = None) -> np.ndarray:
    """Non-negative importance of each feature for a fitted `model`, shape (d,).

    Parameters
    ----------
    model : a fitted classifier (estimator or Pipeline) with predict_proba.
    X, y : rows from the training distribution (the training sample itself is fine).
    random_state : seeds the subsample and shuffles of permutation importance.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    final, scaled = _unwrap(model)
    coef = None if scaled is None else _linear_coefficients(final)
    if coef is None or coef.shape[1] != X.shape[1]:
        return permutation_importance(model, X, y, random_state)
    per_sd = np.abs(coef).mean(axis=0)
    return per_sd if scaled else per_sd * X.std(axis=0)


def role_importance(model: Any, X: np.ndarray, y: np.ndarray, roles: Sequence[str],
                    random_state: int | None = None) -> dict[str, float]:
    """Importance of each block of features sharing a role, by permuting the block's rows jointly.

    One measure for every model (the mean increase in log loss when the block is shuffled, on the
    same subsample as `permutation_importance`, clipped at 0), so shares are comparable across
    models: a multi-column spurious block (the digit patch) counts as one feature, as it acts as
    one, and a model whose every pixel of the patch carries a little weight is not under-counted.

    Returns
    -------
    dict role -> importance, for the roles present in `roles`.
    """
    X, y, roles = np.asarray(X, dtype=float), np.asarray(y), np.asarray(roles)
    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(X), size=min(len(X), MAX_ROWS), replace=False)
    Xs, ys = X[rows], y[rows]
    base = _row_log_loss(model, Xs, ys).mean()
    blocks = [role for role in dict.fromkeys(roles)]
    stacked = np.tile(Xs, (PERMUTATION_REPEATS * len(blocks), 1))
    m = len(rows)
    for b, role in enumerate(blocks):
        columns = np.flatnonzero(roles == role)
        for r in range(PERMUTATION_REPEATS):
            start = (b * PERMUTATION_REPEATS + r) * m
            stacked[start:start + m, columns] = Xs[rng.permutation(m)][:, columns]
    losses = _row_log_loss(model, stacked, np.tile(ys, PERMUTATION_REPEATS * len(blocks)))
    increase = losses.reshape(len(blocks), PERMUTATION_REPEATS * m).mean(axis=1) - base
    return {str(role): float(max(v, 0.0)) for role, v in zip(blocks, increase, strict=True)}


def spurious_share(importance: dict[str, float]) -> float:
    """Share of the total role importance (see `role_importance`) on the spurious block.

    NaN when no feature is spurious or the total importance is 0 (nothing to share).
    """
    total = sum(importance.values())
    if "spurious" not in importance or not total > 0:
        return float("nan")
    return float(importance["spurious"] / total)
