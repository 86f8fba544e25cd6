"""Experiment 1 across tables: on how many real tables does Ng & Jordan's shape hold?

Ng & Jordan (2001) drew learning curves on 15 UCI tables and found the shape on most, not all.
Here the unit is the table (the row's `family`, e.g. ``table:hmda``: one data-generating process),
never the seed. Per table, the pre-registered pair (`PAIR`, run on every table: a balanced panel)
gives `logistic_regression_mle` minus `gaussian_nb` per seed at each scenario's smallest and
largest training size; a table with several scenarios (raw and standardised features) averages
them per seed, each scenario weighing the same. A table's call is descriptive: naive Bayes is
*ahead* at the smallest size when the 95% t-interval over seeds lies below 0, logistic regression
at the largest when it lies above, and the table *crosses* when both hold (the curves then cross
in between). Every fit counts, flagged ones included, as in the rest of the experiment: a chance
fit at a few rows is the small-sample behaviour the curves measure. Sensitivity (stated, not
tested): on some tables no model clearly beats the majority rate even with the whole pool (weak
features, an imbalanced label), so accuracy there mostly measures who predicts the majority
class; the shares are also given over the *informative* tables only, where fewer than half of the
pair's fits at the largest size are excluded by the stated flag rule (`prepare.excluded`).

The cross-table claim is on the share of tables: for each of the three calls, the share with its
exact (Clopper-Pearson) 95% interval over tables, and an exact binomial test of the share against
one half (`MAJORITY`), asked of the claim book (exploratory level, Holm-corrected with the other
claims): **reproduced** when the share is clearly above one half, **contradicted** when clearly
below, otherwise **not detected**, with the test's power to detect a true share of
`CLAIMED_SHARE` at the corrected level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.report.claims import FEW_CLUSTERS, MIN_CLUSTERS, UNCORRECTED, Verdicts
from spurbench.report.experiments._stats import interval, with_ci
from spurbench.report.prepare import excluded, learners

NAIVE_BAYES, LOGISTIC = "gaussian_nb", "logistic_regression_mle"
PAIR = (NAIVE_BAYES, LOGISTIC)
TRIO = (NAIVE_BAYES, LOGISTIC, "logistic_regression")  # what the per-table figure draws
MAJORITY = 0.5  # "on most tables": the share the exact test is against
CLAIMED_SHARE = 0.8  # the alternative the power of a "not detected" is stated for
CALLS = {"naive_bayes_ahead_smallest": "naive Bayes ahead at the smallest size",
         "logistic_ahead_largest": "logistic regression ahead at the largest size",
         "crossing": "a crossing (both)"}
CLAIM = (
    "Across tables (the unit: one real table, whatever its scenarios), pre-registered: the share of "
    f"tables where `{NAIVE_BAYES}` is ahead of `{LOGISTIC}` at the smallest size, where `{LOGISTIC}` is "
    "ahead at the largest, and where both hold (a crossing), each with its exact (Clopper-Pearson) "
    "95% interval over tables; a table's call is its 95% t-interval over seeds on the claimed side of 0 "
    "(the scenarios of one table averaged per seed). **Reproduced** when an exact binomial test puts the "
    f"share clearly above {MAJORITY:g} (most tables, Holm-corrected with every claim), **contradicted** "
    f"when clearly below, otherwise **not detected**, stated with the test's power for a true share of "
    f"{CLAIMED_SHARE:g} at the corrected level.")
TABLE_COLUMNS = ["table", "scenarios", "n_seeds", "n_smallest", "difference_smallest", "smallest_ci_low",
                 "smallest_ci_high", "naive_bayes_ahead_smallest", "n_largest", "difference_largest",
                 "largest_ci_low", "largest_ci_high", "logistic_ahead_largest", "crossing",
                 "flagged_largest", "informative"]
SHARE_COLUMNS = ["call", "tables_with", "tables", "share", "ci_low", "ci_high", "p_value", "power",
                 "verdict"]


REAL_TABLE_PREFIX = "table:"  # a real table's rows' family (`Generator.data_family`)


def _sizes(values: pd.Series) -> str:
    return "/".join(f"{n:g}" for n in sorted(values.unique()))


def table_results(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per table that ran `PAIR`: `LOGISTIC` minus `NAIVE_BAYES` (accuracy at shift 0) at
    each scenario's smallest and largest n_train, averaged per seed over the table's scenarios, with
    its 95% t-interval over seeds, and the three calls (see the module docstring)."""
    real = rows["family"].astype(str).str.startswith(REAL_TABLE_PREFIX)  # tables, not synthetic sweeps
    rows = learners(rows[real & (rows["shift"] == 0) & rows["model"].isin(PAIR)])
    flagged = rows.assign(flagged=excluded(rows)).groupby(["scenario", "n_train"])["flagged"].mean()
    wide = rows.pivot_table(index=["family", "scenario", "n_train", "seed"], columns="model",
                            values="accuracy").reset_index()
    if not set(PAIR) <= set(wide.columns):
        return pd.DataFrame(columns=TABLE_COLUMNS)
    wide = wide.dropna(subset=list(PAIR)).assign(difference=lambda w: w[LOGISTIC] - w[NAIVE_BAYES])
    sizes = wide.groupby("scenario")["n_train"]
    records = []
    for table, part in wide.groupby("family", sort=True):
        record = {"table": table, "scenarios": ", ".join(sorted(part["scenario"].unique()))}
        for end, pick in (("smallest", sizes.transform("min")), ("largest", sizes.transform("max"))):
            at_end = part[part["n_train"] == pick.loc[part.index]]
            per_seed = at_end.groupby("seed")["difference"].mean()
            low, high = interval(per_seed)
            record |= {"n_seeds": len(per_seed), f"n_{end}": _sizes(at_end["n_train"]),
                       f"difference_{end}": per_seed.mean(), f"{end}_ci_low": low, f"{end}_ci_high": high}
        record["naive_bayes_ahead_smallest"] = bool(record["smallest_ci_high"] < 0)
        record["logistic_ahead_largest"] = bool(record["largest_ci_low"] > 0)
        record["crossing"] = record["naive_bayes_ahead_smallest"] and record["logistic_ahead_largest"]
        largest = part.groupby("scenario")["n_train"].max()
        record["flagged_largest"] = float(np.mean([flagged[s, n] for s, n in largest.items()]))
        record["informative"] = record["flagged_largest"] < 0.5
        records.append(record)
    return pd.DataFrame(records, columns=TABLE_COLUMNS)


def exact_interval(k: int, n: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval of a share of k out of n (within [0, 1]; (nan, nan) for n = 0)."""
    if n == 0:
        return np.nan, np.nan
    low = 0.0 if k == 0 else float(stats.beta.ppf(0.025, k, n - k + 1))
    high = 1.0 if k == n else float(stats.beta.ppf(0.975, k + 1, n - k))
    return low, high


def binomial_power(n: int, alpha: float, share: float = CLAIMED_SHARE) -> float:
    """Power of the two-sided exact binomial test of a share of `MAJORITY` at level `alpha`, over
    `n` tables, to find a true `share` (above one half) clearly above it."""
    ks = np.arange(n + 1)
    rejects = ks[(2 * stats.binom.sf(ks - 1, n, MAJORITY) <= alpha) & (ks > n * MAJORITY)]
    return float(stats.binom.sf(rejects[0] - 1, n, share)) if len(rejects) else 0.0


def _verdict(k: int, n: int, low: float, high: float, verdicts: Verdicts) -> tuple[float, str]:
    """The p-value of the exact test against `MAJORITY` and the verdict (asked of `verdicts`)."""
    if n < MIN_CLUSTERS:
        return np.nan, f"no verdict ({FEW_CLUSTERS})"
    p = float(stats.binomtest(k, n, MAJORITY).pvalue)
    sign = verdicts.decide(low - MAJORITY, high - MAJORITY, n, p_value=p)
    if sign > 0:
        return p, "reproduced"
    if sign < 0:
        return p, "contradicted (clearly fewer than half the tables)"
    alpha = verdicts.alpha()
    return p, (f"not detected (power {binomial_power(n, alpha):.2f} for a share of {CLAIMED_SHARE:g} at "
               f"level {alpha:.2g})")


def shares(tables: pd.DataFrame, tested: bool = True, verdicts: Verdicts = UNCORRECTED) -> pd.DataFrame:
    """For each call of `table_results`: how many tables make it, the share with its exact 95%
    interval over tables, the exact binomial p-value against one half, the power for
    `CLAIMED_SHARE` at the corrected level, and the verdict (asked of `verdicts` only when
    `tested`; a sensitivity analysis is not a claim)."""
    records = []
    n = len(tables)
    for column, call in CALLS.items():
        k = int(tables[column].sum()) if n else 0
        low, high = exact_interval(k, n)
        p, verdict = _verdict(k, n, low, high, verdicts) if tested else (np.nan, "sensitivity, not tested")
        records.append([call, k, n, k / n if n else np.nan, low, high, p,
                        binomial_power(n, verdicts.alpha()) if n else np.nan, verdict])
    return pd.DataFrame(records, columns=SHARE_COLUMNS)


def bullets(tables: pd.DataFrame, summary: pd.DataFrame, verdicts: Verdicts = UNCORRECTED) -> list[str]:
    """The cross-table verdicts, one sentence each, and the tables behind each call."""
    if tables.empty:
        return []
    lines = []
    for (column, _), r in zip(CALLS.items(), summary.itertuples(), strict=True):
        named = ", ".join(f"`{t}`" for t in tables.loc[tables[column], "table"]) or "none"
        lines.append(f"Across tables, `{LOGISTIC}` against `{NAIVE_BAYES}`: {r.call} on {r.tables_with} "
                     f"of {r.tables} tables, share {r.share:.2f} (exact 95% CI {r.ci_low:.2f} to "
                     f"{r.ci_high:.2f}; claim: more than {MAJORITY:g}): {r.verdict}. Tables: {named}.")
    return [*lines, _sensitivity(tables, verdicts)]


def _sensitivity(tables: pd.DataFrame, verdicts: Verdicts) -> str:
    """The three shares over the informative tables only (stated, not tested)."""
    kept = tables[tables["informative"]]
    left = ", ".join(f"`{t}`" for t in tables.loc[~tables["informative"], "table"]) or "none"
    parts = [f"{r.call} {r.tables_with} of {r.tables}" + (f" (exact 95% CI {r.ci_low:.2f} to {r.ci_high:.2f})"
                                                          if r.tables else "")
             for r in shares(kept, tested=False, verdicts=verdicts).itertuples()]
    return (f"Sensitivity (not tested): over the {len(kept)} informative tables (fewer than half of the "
            "pair's fits at the largest size flagged as not clearly above the majority rate), "
            + "; ".join(parts) + f". Left out: {left}.")


def table_bullet(tables: pd.DataFrame) -> str:
    """Per table, the two ends in one line (the per-table results table has every column)."""
    parts = [f"`{r.table}` {with_ci(r.difference_smallest, r.smallest_ci_low, r.smallest_ci_high)} at "
             f"n = {r.n_smallest}, {with_ci(r.difference_largest, r.largest_ci_low, r.largest_ci_high)} at "
             f"n = {r.n_largest}" for r in tables.itertuples()]
    return (f"Per table, `{LOGISTIC}` minus `{NAIVE_BAYES}` (smallest size, then largest; 95% t-intervals "
            "over seeds): " + "; ".join(parts) + ".")


def per_table_curves(rows: pd.DataFrame) -> pd.DataFrame:
    """Accuracy at shift 0 of `TRIO` per (table, model, n_train, seed), averaged over the table's
    scenarios: what the per-table figure draws (one panel per table, three lines)."""
    rows = learners(rows[(rows["shift"] == 0) & rows["model"].isin(TRIO)])
    keys = ["family", "model", "paradigm", "n_train", "seed"]
    return rows.groupby(keys, as_index=False, observed=True)["accuracy"].mean().rename(
        columns={"accuracy": "value", "family": "table"})
