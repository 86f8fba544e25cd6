"""The statistics the paper experiments state their findings with, and how they print them.

Conventions (each stated once, here):
* a paradigm's value on one seed is the mean over its panel learners (`prepare.panel`: no
  oracles, no reference models, no `+em` variants, flagged fits excluded by the stated rule);
  every model of one (scenario, seed) saw the same data, so paradigm differences are paired over
  seeds;
* differences are **discriminative minus generative**, as everywhere in the report, with a 95%
  Student-t interval over seeds; comparisons across scenarios (different data) use Welch's
  interval instead;
* a published claim is of a difference of at least a pre-registered size in a stated direction,
  and its verdict is one of three words (`verdict`, by the rule of `claims.paper_outcome`, which
  puts both of its tests through the joint Holm correction of every claim in both documents):
  **reproduced**, **not detected (power X)** or **contradicted**; a "not detected" verdict states
  the power of the test to detect the pre-registered size at the corrected level (Bonferroni's
  level over the claims of its level, `claims.Corrected.alpha`: a lower bound under Holm's step-down);
* there is no interval with fewer than two values, or when they are all equal (no spread to
  estimate it from: e.g. every seed trained on the same whole pool of a real dataset); such a
  difference is reported without a verdict.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.report.claims import (
    FEW_CLUSTERS,
    NOT_DETECTED,
    OPPOSITE,
    REFERENCE_EFFECT,
    REPRODUCED,
    SMALLER,
    UNCORRECTED,
    Verdicts,
    detectable,
    paper_outcome,
    power,
)
from spurbench.report.prepare import panel, t_interval
from spurbench.report.reproducible import significant

PARADIGMS = ("generative", "discriminative")


def interval(values: pd.Series | np.ndarray) -> tuple[float, float]:
    """95% t-interval of the mean of the finite `values`, or (nan, nan) without a spread."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2 or np.ptp(values) == 0:
        return np.nan, np.nan
    return t_interval(values)


def at_level(rows: pd.DataFrame, target: float) -> pd.DataFrame:
    """Rows at each scenario's listed shift level nearest to `target`."""
    distance = (rows["shift"] - target).abs()
    return rows[distance == distance.groupby(rows["scenario"]).transform("min")]


def paradigm_contrast(rows: pd.DataFrame, value: str, by: Sequence[str]) -> pd.DataFrame:
    """Per `by` cell: each paradigm's mean of `value` and discriminative minus generative.

    Returns one row per cell with columns `by`, generative, discriminative, difference, ci_low,
    ci_high (the difference's 95% t-interval over seeds) and n_seeds. Cells where a paradigm has
    no learner are left out.
    """
    by = list(by)
    per_seed = panel(rows).groupby([*by, "seed", "paradigm"])[value].mean().unstack("paradigm")
    columns = [*by, "generative", "discriminative", "difference", "ci_low", "ci_high", "n_seeds"]
    if not set(PARADIGMS) <= set(per_seed.columns):
        return pd.DataFrame(columns=columns)
    per_seed = per_seed.dropna(subset=list(PARADIGMS))
    per_seed["difference"] = per_seed["discriminative"] - per_seed["generative"]
    records = []
    for key, cell in per_seed.groupby(level=by, sort=True):
        low, high = interval(cell["difference"])
        key = key if isinstance(key, tuple) else (key,)
        records.append({**dict(zip(by, key, strict=True)),
                        "generative": cell["generative"].mean(),
                        "discriminative": cell["discriminative"].mean(),
                        "difference": cell["difference"].mean(), "ci_low": low, "ci_high": high,
                        "n_seeds": len(cell)})
    return pd.DataFrame(records, columns=columns)


def paired_difference(rows: pd.DataFrame, value: str, first: str, second: str,
                      pair_on: Sequence[str] = ("seed",)) -> tuple[float, float, float, int]:
    """Mean and 95% t-interval of `value` of model `second` minus model `first`, paired on `pair_on`."""
    # pivot_table's means (models with no value left out), at a third of its time
    wide = (rows[rows["model"].isin([first, second])].groupby([*pair_on, "model"])[value].mean()
            .unstack("model").dropna(axis=1, how="all"))
    if not {first, second} <= set(wide.columns):
        return np.nan, np.nan, np.nan, 0
    diff = (wide[second] - wide[first]).dropna()
    low, high = interval(diff)
    return float(diff.mean()) if len(diff) else np.nan, low, high, len(diff)


def welch_difference(after: pd.Series, before: pd.Series) -> tuple[float, float, float]:
    """Mean of `after` minus mean of `before` (independent samples), with Welch's 95% interval."""
    after, before = after.dropna().to_numpy(float), before.dropna().to_numpy(float)
    diff = after.mean() - before.mean() if len(after) and len(before) else np.nan
    if len(after) < 2 or len(before) < 2:
        return diff, np.nan, np.nan
    va, vb = after.var(ddof=1) / len(after), before.var(ddof=1) / len(before)
    if va + vb == 0:
        return diff, np.nan, np.nan
    dof = (va + vb) ** 2 / (va**2 / (len(after) - 1) + vb**2 / (len(before) - 1))
    half = stats.t.ppf(0.975, dof) * np.sqrt(va + vb)
    return diff, diff - half, diff + half


def crossing_point(sizes: Sequence[float], difference: Sequence[float]) -> tuple[float | None, int]:
    """Where a learning-curve difference changes sign for the last time, and how often it does.

    `difference` (e.g. discriminative minus generative accuracy) is given at increasing training
    `sizes`; exact zeros are skipped. The crossing is interpolated linearly in log size between
    the two sizes around the last sign change. Returns (None, 0) without a sign change.
    """
    sizes, difference = np.asarray(sizes, float), np.asarray(difference, float)
    keep = difference != 0
    sizes, difference = sizes[keep], difference[keep]
    changes = np.flatnonzero(np.sign(difference[:-1]) != np.sign(difference[1:]))
    if not len(changes):
        return None, 0
    i = changes[-1]
    fraction = difference[i] / (difference[i] - difference[i + 1])
    log_size = np.log(sizes[i]) + fraction * (np.log(sizes[i + 1]) - np.log(sizes[i]))
    # Vectorised log and exp may differ in the last bit between processors (`reproducible`).
    return significant(np.exp(log_size)), len(changes)


def clear_signs(table: pd.DataFrame, low: str, high: str, n: str | int,
                verdicts: Verdicts = UNCORRECTED) -> pd.Series:
    """`verdicts.decide` for every row of `table` (interval columns `low`, `high`; units in column
    `n` or the constant `n`): +1, -1 or 0 per row."""
    units = table[n] if isinstance(n, str) else pd.Series(n, index=table.index)
    signs = [verdicts.decide(lo, hi, int(k))
             for lo, hi, k in zip(table[low], table[high], units, strict=True)]
    return pd.Series(signs, index=table.index, dtype=int)


def verdict(mean: float, low: float, high: float, n: int, expected: int,
            effect: float = REFERENCE_EFFECT, verdicts: Verdicts = UNCORRECTED) -> str:
    """The verdict on a published claim of a difference of at least `effect` in the direction
    `expected` (+1: above 0, -1: below), by `claims.paper_outcome`.

    Parameters
    ----------
    mean, low, high : float
        The observed difference and its 95% interval.
    n : int
        Independent units behind the interval (seeds, or scenarios).
    expected : int
        The sign the claim predicts.
    effect : float
        The pre-registered size (a positive difference of the metric).
    verdicts : Verdicts
        Where the claims are decided (a `claims.Recorder` or `claims.Corrected`).

    Returns
    -------
    str
        "reproduced"; "contradicted (...)", saying whether the difference is clearly the other way
        or clearly smaller than `effect` (then with the margin and where the interval stops; the
        caller states the difference and its interval before it, as `judged` does); "not detected
        (power X for `effect`; ...)", saying when the uncorrected 95% interval excludes 0 or the
        claimed size although the corrected test does not; or "no verdict (...)" without an
        interval from at least three units.
    """
    outcome = paper_outcome(low, high, n, expected, effect, verdicts)
    if outcome == REPRODUCED:
        return "reproduced"
    if outcome == OPPOSITE:
        return "contradicted (clearly the other way)"
    if outcome == SMALLER:
        bound = high if expected > 0 else low
        return (f"contradicted (clearly smaller in size than the pre-registered {effect:.3f}: the "
                f"interval stops at {bound:+.3f})")
    if outcome == NOT_DETECTED:
        alpha = verdicts.alpha()
        bounds = [name for name, bound in (("0", 0.0), (f"{expected * effect:+.3f}", expected * effect))
                  if not low <= bound <= high]
        excluded = (f"; the 95% interval excludes {' and '.join(bounds)}, but not after the joint correction"
                    if bounds else "")
        return (f"not detected (power {power(low, high, n, effect, alpha):.2f} for a difference of "
                f"{effect:.3f} at the corrected level; 80% power from {detectable(low, high, n, alpha):.3f}"
                f"{excluded})")
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no verdict (no interval)"
    return f"no verdict ({FEW_CLUSTERS})"


def judged(mean: float, low: float, high: float, n: int, expected: int,
           effect: float = REFERENCE_EFFECT, verdicts: Verdicts = UNCORRECTED) -> str:
    """A difference with its interval and the `verdict` on the claim, e.g. "+0.041 (95% CI +0.020 to
    +0.062): reproduced"."""
    return f"{with_ci(mean, low, high)}: {verdict(mean, low, high, n, expected, effect, verdicts)}"


def tally(verdicts: Sequence[str]) -> str:
    """How many of `verdicts` are each of the three words, e.g. "reproduced 2, not detected 1,
    contradicted 0 (of 3)"."""
    counts = [sum(v.startswith(word) for v in verdicts)
              for word in ("reproduced", "not detected", "contradicted")]
    return (f"reproduced {counts[0]}, not detected {counts[1]}, contradicted {counts[2]} "
            f"(of {len(verdicts)})")


def with_ci(mean: float, low: float, high: float) -> str:
    """A signed difference with its interval, e.g. "+0.041 (95% CI +0.020 to +0.062)"."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return f"{mean:+.3f} (no interval)"
    return f"{mean:+.3f} (95% CI {low:+.3f} to {high:+.3f})"
