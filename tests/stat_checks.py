"""Statistical assertions shared by the generator tests.

Every check allows `SE_TOLERANCE` = 4 standard errors: a correct generator fails one check with
probability about 6e-5, so a suite of a few hundred checks stays reliable, while the mistakes
they guard against (a shifted rate, a wrong closed form, a mis-weighted posterior) move the
statistic by many standard errors at the sample sizes used.
"""

from __future__ import annotations

import numpy as np

SE_TOLERANCE = 4.0


def assert_rate(events: np.ndarray, expected: float, what: str,
                tolerance: float = SE_TOLERANCE) -> None:
    """The share of True in `events` is within `tolerance` (4) binomial standard errors of
    `expected`."""
    n = len(events)
    observed = float(np.mean(events))
    se = np.sqrt(max(expected * (1.0 - expected), 1.0 / n) / n)
    assert abs(observed - expected) <= tolerance * se, (
        f"{what}: observed {observed:.4f}, expected {expected:.4f} ({tolerance:g} SE = "
        f"{tolerance * se:.4f}, n={n})")


def assert_mean(values: np.ndarray, expected: float, what: str) -> None:
    """The mean of `values` is within 4 standard errors (from their sample sd) of `expected`."""
    se = np.std(values, ddof=1) / np.sqrt(len(values))
    observed = float(np.mean(values))
    assert abs(observed - expected) <= SE_TOLERANCE * se, (
        f"{what}: observed {observed:.4f}, expected {expected:.4f} (4 SE = {SE_TOLERANCE * se:.4f})")


def assert_not_worse(oracle_correct: np.ndarray, model_correct: np.ndarray, what: str) -> None:
    """The oracle's accuracy is at least the model's, up to 4 SE of the paired difference."""
    diff = oracle_correct.astype(float) - model_correct.astype(float)
    se = max(np.std(diff, ddof=1), 1e-12) / np.sqrt(len(diff))
    assert diff.mean() >= -SE_TOLERANCE * se, (
        f"{what}: oracle {oracle_correct.mean():.4f} < model {model_correct.mean():.4f} beyond 4 SE")
