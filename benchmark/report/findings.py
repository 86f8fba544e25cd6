""""What this run shows": sentences written from the numbers by fixed rules, never by hand.

Each rule reads one table and states what it shows; thresholds are the tables' own 95% intervals
and Holm-corrected p-values (level `analysis.ALPHA`), so the text can never claim more than the
statistics do.
"""

from __future__ import annotations

import pandas as pd

from benchmark.report.analysis import ALL_FAMILIES, ALPHA
from benchmark.report.prepare import ADAPTED_SUFFIX


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "generative models degrade less"
    if high < 0:
        return "discriminative models degrade less"
    return "no clear difference at the 95% level"


def _effect(row: object) -> str:
    """Effect and interval in accuracy percentage points, with the verdict."""
    return (f"{100 * row.effect:+.2f} points (95% CI {100 * row.ci_low:+.2f} to "
            f"{100 * row.ci_high:+.2f}): {_verdict(row.ci_low, row.ci_high)}")


def paradigm_lines(effects: pd.DataFrame) -> list[str]:
    """Markdown bullets on the regression's paradigm effect: overall first, then per family."""
    overall = effects[effects["family"] == ALL_FAMILIES]
    families = effects[effects["family"] != ALL_FAMILIES]
    lines = []
    for row in overall.itertuples(index=False):
        lines.append(
            f"- Paradigm effect on degradation (discriminative minus generative accuracy drop at the "
            f"average shifted level {row.centre_shift:.2f}, {row.n_scenarios} scenarios, "
            f"{row.n_clusters} scenario x seed clusters): {_effect(row)}. Per family:")
    if not lines and not families.empty:
        lines.append("- Paradigm effect on degradation (discriminative minus generative accuracy "
                     "drop at the average shifted level), per family:")
    for row in families.itertuples(index=False):
        lines.append(f"  - `{row.family}` ({row.n_scenarios} scenario(s)): {_effect(row)}.")
    return lines


def best_model_sentences(by_scenario: pd.DataFrame) -> list[str]:
    """Who is best in and out of distribution, and who drops least and most.

    Base learners only (no oracles, no `+em` variants), averaged over the shifted scenarios where
    every one of them has a result, so every model is judged on the same scenarios.
    """
    rows = by_scenario[(by_scenario["paradigm"] != "oracle")
                       & ~by_scenario["model"].str.endswith(ADAPTED_SUFFIX)]
    complete = rows.dropna(subset=["accuracy_shift0", "accuracy_largest_shift"])
    n_models = complete.groupby("scenario")["model"].nunique()
    common = n_models.index[n_models == rows["model"].nunique()]
    means = complete[complete["scenario"].isin(common)].groupby(["model", "paradigm"], as_index=False)[
        ["accuracy_shift0", "accuracy_largest_shift", "accuracy_drop"]].mean()
    if means.empty:
        return []

    def top(column: str, largest: bool = True) -> pd.Series:
        return means.sort_values(column, ascending=not largest, kind="stable").iloc[0]

    best_id, best_shift = top("accuracy_shift0"), top("accuracy_largest_shift")
    least, most = top("accuracy_drop", largest=False), top("accuracy_drop")
    where = f"Averaged over the {len(common)} shifted scenario(s) where every base learner has a result"
    if best_id.model == best_shift.model:
        best = (f"{where}, `{best_id.model}` ({best_id.paradigm}) is the most accurate both in "
                f"distribution ({best_id.accuracy_shift0:.3f}) and at the largest shift "
                f"({best_shift.accuracy_largest_shift:.3f}).")
    else:
        best = (f"{where}, `{best_id.model}` ({best_id.paradigm}) is the most accurate in "
                f"distribution ({best_id.accuracy_shift0:.3f}) and `{best_shift.model}` "
                f"({best_shift.paradigm}) at the largest shift ({best_shift.accuracy_largest_shift:.3f}).")
    if len(means) == 1:
        return [best]
    return [
        best,
        f"The smallest accuracy drop from shift 0 to the largest shift is `{least.model}`'s "
        f"({least.accuracy_drop:.3f}); the largest is `{most.model}`'s ({most.accuracy_drop:.3f}).",
    ]


def paired_sentences(paired: pd.DataFrame) -> list[str]:
    """How often the best discriminative model beats, or loses to, the best generative one."""
    tested = paired.dropna(subset=["p_holm"])
    if tested.empty:
        return []
    significant = tested["p_holm"] < ALPHA
    wins = int((significant & (tested["difference"] > 0)).sum())
    losses = int((significant & (tested["difference"] < 0)).sum())
    rest = len(tested) - wins - losses
    return [
        f"Comparing the best model of each paradigm per scenario (paired over seeds, Holm-corrected "
        f"p < {ALPHA:g}), the best discriminative model is more accurate under shift in {wins} and "
        f"less accurate in {losses} of {len(tested)} scenario(s)"
        + (f"; {rest} show no clear difference." if rest else ".")
    ]


def robustness_sentences(robust: pd.DataFrame) -> list[str]:
    """The learner most above the accuracy-on-the-line trend."""
    learners = robust[robust["paradigm"] != "oracle"].dropna(subset=["effective_robustness"])
    if learners.empty:
        return []
    best = learners.sort_values("effective_robustness", ascending=False, kind="stable").iloc[0]
    return [
        f"`{best.model}` has the highest effective robustness at the largest shift "
        f"({best.effective_robustness:+.3f} accuracy above the line through all learners, mean over "
        f"{best.scenarios} scenario(s))."
    ]


def failure_sentences(failures: pd.DataFrame, n_fits: int) -> list[str]:
    """How many fits failed (they are excluded from every statistic)."""
    failed = int(failures["failed_fits"].sum())
    if failed == 0:
        return [f"All {n_fits} fits succeeded."]
    return [f"{failed} of {n_fits} fits failed and are excluded from every statistic (listed below)."]


def summary(by_name: dict[str, pd.DataFrame], n_fits: int) -> list[str]:
    """Every rule's output as Markdown bullets, from the report's tables (by table name)."""
    sentences = (best_model_sentences(by_name["accuracy_by_scenario"])
                 + paired_sentences(by_name["paired_comparisons"])
                 + robustness_sentences(by_name["robustness"])
                 + failure_sentences(by_name["failures"], n_fits))
    return paradigm_lines(by_name["paradigm_effects"]) + [f"- {s}" for s in sentences]
