"""Experiment 1, sample efficiency (Ng & Jordan, 2001): where do the learning curves of each
generative model and of logistic regression cross?

Ng & Jordan's claim: naive Bayes approaches its (higher) asymptotic error with far fewer examples
than logistic regression, so it wins with few examples and loses with many. Their argument concerns
the unregularised maximum-likelihood fit, so each generative model is compared with two references:
`logistic_regression` (L2, C = 1) and `logistic_regression_mle` (no penalty), and the two references
with each other. Per scenario, a difference (reference minus the model, paired over seeds: both saw
the same training sample) is measured at every training size with a 95% t-interval. The curves
"clearly cross" when one side is clearly ahead at some size and the other at a larger one; the
crossing point is where the mean difference changes sign for the last time.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from benchmark.report import style
from benchmark.report.experiments import _plots as plots
from benchmark.report.experiments._common import Experiment, FigurePlan, Params, Section
from benchmark.report.experiments._stats import clear_signs, crossing_point, interval, with_ci
from benchmark.report.prepare import learners, model_order, paradigms, scenario_order

REGULARISED, UNREGULARISED = "logistic_regression", "logistic_regression_mle"
REFERENCES = (REGULARISED, UNREGULARISED)
CROSSING_LINESTYLES = {REGULARISED: ":", UNREGULARISED: "-."}
COLUMNS = 3
CROSSES = "clear crossing"
REGULARISATION_COLUMNS = ["scenario", "n_train", "regularised", "unregularised", "difference", "ci_low",
                          "ci_high", "clear_sign"]


def _sizes(sizes: pd.Index) -> str:
    return ", ".join(f"{n:g}" for n in sizes) or "none"


def _by_size(wide: pd.DataFrame, first: str, second: str) -> pd.DataFrame:
    """`first` minus `second` per n_train (paired on the seed): mean and 95% t-interval (low, high)."""
    diff = (wide[first] - wide[second]).dropna().groupby(level="n_train")
    bounds = pd.DataFrame([interval(v) for _, v in diff], index=diff.mean().index, columns=["low", "high"])
    bounds = bounds.assign(mean=diff.mean(), n=diff.count())
    return bounds.assign(sign=clear_signs(bounds, "low", "high", "n"))


def _curves(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per scenario: accuracy at shift 0 with one column per base learner, indexed by (n_train, seed)."""
    rows = learners(rows[rows["shift"] == 0])
    return {scenario: cell.pivot_table(index=["n_train", "seed"], columns="model", values="accuracy")
            for scenario, cell in rows.groupby("scenario", sort=True)}


def _outcome(model: str, reference: str, generative_ahead: pd.Index, reference_ahead: pd.Index) -> str:
    """The learning-curve story told by the sizes where either side is clearly ahead.

    A crossing is "clear" only when one side is clearly ahead at some size and the other clearly
    ahead at a larger one; a mean-curve crossing between sizes where neither is clearly ahead is
    noise as far as these seeds can tell.
    """
    if len(generative_ahead) and len(reference_ahead):
        if generative_ahead.min() < reference_ahead.max():
            return f"{CROSSES}: {model} is ahead first, {reference} later"
        return f"{CROSSES}: {reference} is ahead first, {model} later"
    if len(reference_ahead):
        return f"{reference} is clearly ahead at some sizes and never clearly behind"
    if len(generative_ahead):
        return f"{model} is clearly ahead at some sizes and never clearly behind"
    return "neither is clearly ahead at any size"


def _ends(diff: pd.DataFrame) -> dict:
    """The difference and its interval at the smallest and the largest size."""
    record = {}
    for end, size in (("smallest", diff.index[0]), ("largest", diff.index[-1])):
        record |= {f"n_{end}": size, f"difference_{end}": diff.at[size, "mean"],
                   f"{end}_ci_low": diff.at[size, "low"], f"{end}_ci_high": diff.at[size, "high"],
                   f"{end}_sign": int(diff.at[size, "sign"])}
    return record


def learning_curve_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per reference (each logistic regression the scenario ran), scenario and generative model: the
    reference minus the model's accuracy at the smallest and the largest n_train (95% t-intervals
    over seeds), the sizes where either side is clearly ahead (`reference_clearly_ahead_at`: the
    logistic regression), and where the mean curves last cross (interpolated in log size)."""
    paradigm = paradigms(rows)
    records = []
    for reference in REFERENCES:
        for scenario, wide in _curves(rows).items():
            if reference not in wide:
                continue
            for model in sorted(m for m in wide.columns if paradigm[m] == "generative"):
                diff = _by_size(wide, reference, model)
                if len(diff) < 2:
                    continue
                generative_ahead = diff.index[diff["sign"] < 0]
                reference_ahead = diff.index[diff["sign"] > 0]
                cross, changes = crossing_point(diff.index, diff["mean"].to_numpy())
                key = {"reference": reference, "scenario": scenario, "model": model}
                records.append(key | _ends(diff) | {
                    "generative_clearly_ahead_at": _sizes(generative_ahead),
                    "reference_clearly_ahead_at": _sizes(reference_ahead),
                    "mean_curves_last_cross": cross, "crossings": changes,
                    "outcome": _outcome(model, reference, generative_ahead, reference_ahead)})
    return pd.DataFrame(records)


def regularisation_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario that ran both references: `logistic_regression` minus `logistic_regression_mle`
    at every n_train (mean accuracies, paired difference and its 95% t-interval over seeds)."""
    records = []
    for scenario, wide in _curves(rows).items():
        if not set(REFERENCES) <= set(wide.columns):
            continue
        diff = _by_size(wide, REGULARISED, UNREGULARISED)
        means = wide[list(REFERENCES)].groupby(level="n_train").mean()
        for size, row in diff.iterrows():
            records.append([scenario, size, means.at[size, REGULARISED], means.at[size, UNREGULARISED],
                            row["mean"], row["low"], row["high"], int(row["sign"])])
    return pd.DataFrame(records, columns=REGULARISATION_COLUMNS)


def clear_crossings(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `learning_curve_table` whose curves clearly cross."""
    if table.empty:
        return table.assign(reference=[], scenario=[], model=[], mean_curves_last_cross=[])
    return table[table["outcome"].str.startswith(CROSSES)]


def _reference_bullets(table: pd.DataFrame, reference: str) -> list[str]:
    """What the pairs of one reference show: who leads at the ends, and which curves clearly cross."""
    gen_first, lr_last = table["difference_smallest"] < 0, table["difference_largest"] > 0
    crossed = clear_crossings(table)
    lines = [
        f"Across {len(table)} (scenario, generative model) pairs, the generative model's mean accuracy "
        f"is above `{reference}`'s at the smallest training size in {int(gen_first.sum())} "
        f"({int((table['smallest_sign'] < 0).sum())} clearly, Holm-corrected), and "
        f"`{reference}`'s is above at the largest size in {int(lr_last.sum())} "
        f"({int((table['largest_sign'] > 0).sum())} clearly"
        + (f"; {int(table['largest_ci_low'].isna().sum())} have no interval there (no spread over seeds)"
           if table["largest_ci_low"].isna().any() else "") + ").",
        f"Against `{reference}`, the curves clearly cross (one side clearly ahead at some size, the other "
        f"at a larger one) in {len(crossed)} pairs: " + ("; ".join(
            f"`{r.scenario}` / `{r.model}` (the generative model clearly ahead at n = "
            f"{r.generative_clearly_ahead_at}, `{reference}` at n = {r.reference_clearly_ahead_at}; the "
            f"mean curves last cross at n ≈ {r.mean_curves_last_cross:.0f})" for r in crossed.itertuples())
            or "none") + ".",
    ]
    rest = table[~table.index.isin(crossed.index)]
    for outcome, part in rest.groupby("outcome", sort=True):
        pairs = ", ".join(f"`{r.scenario}` / `{r.model}`" for r in part.itertuples())
        lines.append(f"In {len(part)} pair(s) the generative model and `{reference}` do not clearly cross, "
                     f"and {outcome.replace(reference, f'`{reference}`')}: {pairs}.")
    return lines


def _regularisation_bullet(table: pd.DataFrame) -> str:
    """Per scenario: how much the L2 penalty changes logistic regression's accuracy, small n to large."""
    parts = []
    for scenario, part in table.groupby("scenario", sort=True):
        first, last = part.iloc[0], part.iloc[-1]
        ahead = part.loc[part["clear_sign"] > 0, "n_train"]
        behind = part.loc[part["clear_sign"] < 0, "n_train"]
        parts.append(f"`{scenario}` {with_ci(first.difference, first.ci_low, first.ci_high)} at "
                     f"n = {first.n_train:g} and {with_ci(last.difference, last.ci_low, last.ci_high)} at "
                     f"n = {last.n_train:g} (regularised clearly ahead at n = {_sizes(pd.Index(ahead))}, "
                     f"clearly behind at n = {_sizes(pd.Index(behind))})")
    return (f"`{REGULARISED}` minus `{UNREGULARISED}` (what the L2 penalty buys, paired over seeds): "
            + "; ".join(parts) + ".")


def _bullets(table: pd.DataFrame, regularisation: pd.DataFrame) -> list[str]:
    lines = [line for reference in REFERENCES if (table["reference"] == reference).any()
             for line in _reference_bullets(table[table["reference"] == reference], reference)]
    return lines + ([_regularisation_bullet(regularisation)] if not regularisation.empty else [])


def _figure(rows: pd.DataFrame, table: pd.DataFrame) -> plt.Figure:
    curves = rows[rows["shift"] == 0]
    fig = plots.facet_lines(curves.assign(value=curves["accuracy"]), "n_train", "training size", "scenario",
                            scenario_order(curves), ylabel="accuracy", xscale="log", col_wrap=COLUMNS)
    palette = style.model_styles(model_order(curves), paradigms(curves))["palette"]
    crossed = clear_crossings(table)
    for ax in fig.axes:
        for r in crossed[crossed["scenario"] == ax.get_title()].itertuples():
            ax.axvline(r.mean_curves_last_cross, color=palette[r.model],
                       linestyle=CROSSING_LINESTYLES[r.reference], linewidth=0.9)
    return fig


def analyse(rows: pd.DataFrame, params: Params) -> Section:
    table, regularisation = learning_curve_table(rows), regularisation_table(rows)
    return Section(
        bullets=_bullets(table, regularisation) if not table.empty else [],
        tables=[("learning_curve_crossings", "Learning curves: each logistic regression (`reference`: L2 "
                 "or unregularised) minus each generative model (accuracy at shift 0) at the smallest and "
                 "largest training size, the sizes where either is clearly ahead (Holm-corrected), "
                 "and where the mean curves last cross", table),
                ("learning_curve_regularisation", "Learning curves: L2-regularised minus unregularised "
                 "logistic regression (accuracy at shift 0) at every training size, with 95% t-intervals "
                 "over seeds", regularisation)],
        figures=[FigurePlan(
            "exp_sample_efficiency", "Accuracy versus training size (log scale; 95% t-bands over seeds). "
            "Verticals: where the mean curves of a logistic regression and the generative model of the same "
            f"colour last cross (dotted: `{REGULARISED}`, dash-dotted: `{UNREGULARISED}`), drawn only where "
            "the crossing is clear (each side clearly ahead at some size).", lambda: _figure(rows, table))])


EXPERIMENT = Experiment(
    1, "sample_efficiency", "Sample efficiency (Ng & Jordan, 2001)",
    "Does naive Bayes reach its (higher) asymptotic error with fewer examples than logistic "
    "regression, so that the learning curves cross?",
    analyse)
