"""Experiment 1, sample efficiency (Ng & Jordan, 2001): where do the learning curves of each
generative model and of logistic regression cross?

Ng & Jordan's claim: naive Bayes approaches its (higher) asymptotic error with far fewer examples
than logistic regression, so it wins with few examples and loses with many. Per scenario and
generative model, the difference (logistic regression minus the model, paired over seeds: both
saw the same training sample) is measured at every training size with a 95% t-interval. The
curves "clearly cross" when one side is clearly ahead at some size and the other at a larger one;
the crossing point is where the mean difference changes sign for the last time.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from benchmark.report import exp_plots as plots
from benchmark.report import style
from benchmark.report.exp_common import FigurePlan, Params, Section
from benchmark.report.exp_stats import crossing_point, interval
from benchmark.report.prepare import learners, model_order, paradigms, scenario_order

REFERENCE = "logistic_regression"
COLUMNS = 3
CROSSES = "clear crossing"


def _sizes(sizes: pd.Index) -> str:
    return ", ".join(f"{n:g}" for n in sizes) or "none"


def _outcome(model: str, generative_ahead: pd.Index, reference_ahead: pd.Index) -> str:
    """The learning-curve story told by the sizes where either side is clearly ahead.

    A crossing is "clear" only when one side is clearly ahead at some size and the other clearly
    ahead at a larger one; a mean-curve crossing between sizes where neither is clearly ahead is
    noise as far as these seeds can tell.
    """
    if len(generative_ahead) and len(reference_ahead):
        if generative_ahead.min() < reference_ahead.max():
            return f"{CROSSES}: {model} is ahead first, {REFERENCE} later"
        return f"{CROSSES}: {REFERENCE} is ahead first, {model} later"
    if len(reference_ahead):
        return f"{REFERENCE} is clearly ahead at some sizes and never clearly behind"
    if len(generative_ahead):
        return f"{model} is clearly ahead at some sizes and never clearly behind"
    return "neither is clearly ahead at any size"


def learning_curve_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and generative model: logistic regression minus the model's accuracy at the
    smallest and the largest n_train (95% t-intervals over seeds), the sizes where either side is
    clearly ahead (`reference_clearly_ahead_at`: logistic regression), and where the mean curves
    last cross (interpolated in log size)."""
    rows = learners(rows[rows["shift"] == 0])
    records = []
    for scenario, cell in rows.groupby("scenario", sort=True):
        wide = cell.pivot_table(index=["n_train", "seed"], columns="model", values="accuracy")
        if REFERENCE not in wide:
            continue
        for model in sorted(cell.loc[cell["paradigm"] == "generative", "model"].unique()):
            diff = (wide[REFERENCE] - wide[model]).dropna()
            by_size = diff.groupby(level="n_train")
            means = by_size.mean()
            if len(means) < 2:
                continue
            bounds = pd.DataFrame([interval(v) for _, v in by_size], index=means.index,
                                  columns=["low", "high"])
            generative_ahead = means.index[bounds["high"] < 0]
            reference_ahead = means.index[bounds["low"] > 0]
            cross, changes = crossing_point(means.index, means.to_numpy())
            record = {"scenario": scenario, "model": model}
            for end, size in (("smallest", means.index[0]), ("largest", means.index[-1])):
                low, high = bounds.loc[size]
                record |= {f"n_{end}": size, f"difference_{end}": means[size], f"{end}_ci_low": low,
                           f"{end}_ci_high": high}
            records.append(record | {
                "generative_clearly_ahead_at": _sizes(generative_ahead),
                "reference_clearly_ahead_at": _sizes(reference_ahead),
                "mean_curves_last_cross": cross, "crossings": changes,
                "outcome": _outcome(model, generative_ahead, reference_ahead)})
    return pd.DataFrame(records)


def clear_crossings(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of `learning_curve_table` whose curves clearly cross."""
    if table.empty:
        return table.assign(scenario=[], model=[], mean_curves_last_cross=[])
    return table[table["outcome"].str.startswith(CROSSES)]


def _bullets(table: pd.DataFrame) -> list[str]:
    gen_first, lr_last = table["difference_smallest"] < 0, table["difference_largest"] > 0
    crossed = clear_crossings(table)
    lines = [
        f"Across {len(table)} (scenario, generative model) pairs, the generative model's mean accuracy "
        f"is above `{REFERENCE}`'s at the smallest training size in {int(gen_first.sum())} "
        f"({int((table['smallest_ci_high'] < 0).sum())} with a 95% interval excluding 0), and "
        f"`{REFERENCE}`'s is above at the largest size in {int(lr_last.sum())} "
        f"({int((table['largest_ci_low'] > 0).sum())} with an interval excluding 0; "
        f"{int(table['largest_ci_low'].isna().sum())} have no interval there, "
        "because the largest size is a real dataset's whole train pool and every seed trains on the same "
        "rows).",
        f"The curves clearly cross (one side clearly ahead at some size, the other at a larger one) in "
        f"{len(crossed)} pairs: " + ("; ".join(
            f"`{r.scenario}` / `{r.model}` (the generative model clearly ahead at n = "
            f"{r.generative_clearly_ahead_at}, `{REFERENCE}` at n = {r.reference_clearly_ahead_at}; the "
            f"mean curves last cross at n ≈ {r.mean_curves_last_cross:.0f})" for r in crossed.itertuples())
            or "none") + ".",
    ]
    rest = table[~table.index.isin(crossed.index)]
    for outcome, part in rest.groupby("outcome", sort=True):
        pairs = ", ".join(f"`{r.scenario}` / `{r.model}`" for r in part.itertuples())
        lines.append(f"In {len(part)} pair(s) the generative model and `{REFERENCE}` do not clearly cross, "
                     f"and {outcome.replace(REFERENCE, f'`{REFERENCE}`')}: {pairs}.")
    return lines


def _figure(rows: pd.DataFrame, table: pd.DataFrame) -> plt.Figure:
    curves = rows[rows["shift"] == 0]
    fig = plots.facet_lines(curves.assign(value=curves["accuracy"]), "n_train", "training size", "scenario",
                            scenario_order(curves), ylabel="accuracy", xscale="log", col_wrap=COLUMNS)
    palette = style.model_styles(model_order(curves), paradigms(curves))["palette"]
    crossed = clear_crossings(table)
    for ax in fig.axes:
        for r in crossed[crossed["scenario"] == ax.get_title()].itertuples():
            ax.axvline(r.mean_curves_last_cross, color=palette[r.model], linestyle=":", linewidth=0.9)
    return fig


def analyse(rows: pd.DataFrame, params: Params) -> Section:
    table = learning_curve_table(rows)
    return Section(
        bullets=_bullets(table) if not table.empty else [],
        tables=[("learning_curve_crossings", "Learning curves: logistic regression minus each generative "
                 "model (accuracy at shift 0) at the smallest and largest training size, the sizes where "
                 "either is clearly ahead (95% interval excluding 0), and where the mean curves last cross",
                 table)],
        figures=[FigurePlan(
            "exp_sample_efficiency", "Accuracy versus training size (log scale; 95% t-bands over seeds). "
            "Dotted verticals: where the mean curves of logistic regression and the generative model of the "
            "same colour last cross, drawn only where the crossing is clear (each side clearly ahead at "
            "some size).", lambda: _figure(rows, table))])
