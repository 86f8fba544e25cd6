"""Experiment 9, reweighting and over-parameterisation, as Sagawa et al. ran it.

Published claim (Sagawa, Raghunathan, Koh & Liang, ICML 2020, "An investigation of why
over-parameterization exacerbates spurious correlations"): with group-balanced reweighting, an
unregularised linear model that can interpolate its training set (far more features than rows)
memorises the few minority examples through the noise features, so its worst-group accuracy falls
as noise features are added; strong L2 regularisation, which prevents interpolation, keeps it up.

Pre-registered comparison, on the noise sweep of the subpopulation scenarios (200 training rows,
noise features scaled 1/sqrt(N)) that ran the group-label reference models, worst-group accuracy at
shift 0.5: (1) `lr_mle_group_balanced` at >= 200 noise features minus at none, Welch's interval
across scenarios, reproduced when clearly below 0; (2) in each scenario with >= 200 noise features,
`lr_l2_strong_group_balanced` minus `lr_mle_group_balanced`, paired over seeds, reproduced when
clearly above 0. Training worst-group accuracy (1.0: the fit interpolates even its rarest group)
shows the mechanism. `lr_l2_strong_group_balanced_std` standardises first, which undoes the
1/sqrt(N) scaling (every noise feature weighs like a core one in the penalty); it is compared with
the raw-feature fit by the same rule. These models see training group labels, which the panel does
not: they are reference rows, drawn beside the panel's four group means, never averaged into them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator
from spurbench.report.claims import Verdicts
from spurbench.report.experiments import _anchors as anchors
from spurbench.report.experiments._common import (
    GROUP_SHIFT,
    Experiment,
    FigurePlan,
    Params,
    Pending,
    param,
    pending,
    rule,
)
from spurbench.report.experiments._stats import at_level, clear_signs, judged, with_ci
from spurbench.report.figures import NotEnoughData

REWEIGHTED, UPWEIGHTED = "lr_mle_group_balanced", "lr_mle_upweighted"
STRONG, STRONG_STD = "lr_l2_strong_group_balanced", "lr_l2_strong_group_balanced_std"
GROUP_MODELS = (REWEIGHTED, UPWEIGHTED, STRONG, STRONG_STD)
MANY_NOISE = 200  # "well past the training size" of the pre-registered comparison
CLAIM = (
    "Published claim (Sagawa, Raghunathan, Koh & Liang, ICML 2020): with group-balanced reweighting, an "
    "unregularised linear model that can interpolate its training set loses worst-group accuracy as "
    "noise features are added; strong L2 regularisation keeps it up. Pre-registered tests, worst-group "
    f"accuracy at shift {GROUP_SHIFT:g}: (1) `{REWEIGHTED}` at >= {MANY_NOISE} noise features minus at "
    f"none (Welch across scenarios), claimed below 0; (2) per noise level >= {MANY_NOISE}, `{STRONG}` "
    f"minus `{REWEIGHTED}` (paired over seeds), claimed above 0; each by at least the pre-registered "
    f"0.020. " + rule("the difference has the claimed sign"))
METRICS = {"worst_group_accuracy": f"worst-group accuracy (shift {GROUP_SHIFT:g})",
           "train_worst_group_accuracy": "training worst-group accuracy"}


def select(rows: pd.DataFrame) -> pd.DataFrame:
    """The scenarios of the tag that ran a group-label model (the others have nothing to compare)."""
    ran = rows.loc[rows["model"].isin(GROUP_MODELS), "scenario"].unique()
    return rows[rows["scenario"].isin(ran)]


def sweep_table(middle: pd.DataFrame) -> pd.DataFrame:
    """Per metric, number of noise features and line (a group-label model or a panel group): mean
    over seeds with its 95% t-interval."""
    parts = []
    for column in METRICS:
        models = middle[middle["model"].isin(GROUP_MODELS)]
        named = models[["n_noise", "model", "seed"]].assign(line=models["model"], value=models[column])
        groups = anchors.group_sides(middle, column, ["n_noise"]).rename(columns={"group": "line"})
        long = pd.concat([named.drop(columns="model"), groups], ignore_index=True).dropna(subset=["value"])
        parts.append(anchors.bands(long, ["n_noise", "line"]).assign(metric=column))
    table = pd.concat(parts, ignore_index=True)
    return table[["metric", "n_noise", "line", "mean", "low", "high", "n"]]


def _over_parameterisation(middle: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    none, many = middle[middle["n_noise"] == 0], middle[middle["n_noise"] >= MANY_NOISE]
    if none.empty or many.empty:
        return [f"No verdict on over-parameterisation: the run lacks a scenario with no noise features or "
                f"one with at least {MANY_NOISE}."]
    lines = []
    for model, role in ((REWEIGHTED, "pre-registered"), (UPWEIGHTED, "same rule, secondary")):
        before = anchors.side(none, "worst_group_accuracy", [model], ["scenario"])
        after = anchors.side(many, "worst_group_accuracy", [model], ["scenario"])
        if before.empty or after.empty:
            continue
        lines.append(
            f"`{model}` ({role}): worst-group accuracy at shift {GROUP_SHIFT:g} is {before.mean():.3f} "
            f"without noise features and {after.mean():.3f} with >= {MANY_NOISE} (pooled over "
            f"{many['scenario'].nunique()} scenario(s)); the change (Welch) is "
            f"{judged(*anchors.welch(after, before), expected=-1, verdicts=verdicts)} (published: it falls).")
    return lines


def _regularisation(middle: pd.DataFrame, verdicts: Verdicts) -> list[str]:
    lines, std_records = [], []
    for n_noise, cell in middle[middle["n_noise"] >= MANY_NOISE].groupby("n_noise", sort=True):
        weak = anchors.side(cell, "worst_group_accuracy", [REWEIGHTED])
        strong = anchors.side(cell, "worst_group_accuracy", [STRONG])
        if not weak.empty and not strong.empty:
            lines.append(f"With {n_noise:g} noise features, `{STRONG}` minus `{REWEIGHTED}` (paired over "
                         f"seeds): {judged(*anchors.paired(weak, strong), expected=1, verdicts=verdicts)} "
                         "(published: strong L2 is higher).")
        standardised = anchors.side(cell, "worst_group_accuracy", [STRONG_STD])
        if not strong.empty and not standardised.empty:
            diff, low, high, n = anchors.paired(strong, standardised)
            std_records.append({"n_noise": n_noise, "diff": diff, "low": low, "high": high, "n": n})
    if std_records:
        table = pd.DataFrame(std_records)
        signs = clear_signs(table, "low", "high", "n", verdicts)
        words = {1: "standardised clearly higher", -1: "raw clearly higher", 0: "no clear difference"}
        listed = "; ".join(f"{r.n_noise:g} noise features {with_ci(r.diff, r.low, r.high)}: {words[sign]}"
                           for r, sign in zip(table.itertuples(), signs, strict=True))
        lines.append(
            f"Standardising before the strong penalty (`{STRONG_STD}` minus `{STRONG}`, paired over seeds) "
            f"clearly lowers worst-group accuracy at {int((signs < 0).sum())} and clearly raises it at "
            f"{int((signs > 0).sum())} of {len(table)} noise levels >= {MANY_NOISE} ({listed}); "
            "standardising gives each 1/sqrt(N)-scaled noise feature the weight of a core one in the "
            "penalty.")
    return lines


def _interpolation(middle: pd.DataFrame) -> str:
    """How often the unregularised and the strongly regularised fits reach training worst-group 1.0."""
    many = middle[middle["n_noise"] >= MANY_NOISE]
    shares = {m: many.loc[many["model"] == m, "train_worst_group_accuracy"].dropna() >= 1.0
              for m in (REWEIGHTED, STRONG)}
    parts = [f"`{m}` in {int(s.sum())} of {len(s)}" for m, s in shares.items() if len(s)]
    return (f"With >= {MANY_NOISE} noise features the fit classifies every training row of every group "
            f"correctly (training worst-group accuracy 1.0, interpolation): " + (", ".join(parts) or "none")
            + " fits.")


def _figure(table: pd.DataFrame, middle: pd.DataFrame) -> plt.Figure:
    if table.empty:
        raise NotEnoughData("no worst-group accuracy to draw")
    look = anchors.looks([m for m in GROUP_MODELS if m in set(middle["model"])], middle)
    values = sorted(table["n_noise"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
    for ax, (column, label) in zip(axes, METRICS.items(), strict=True):
        part = table[table["metric"] == column]
        anchors.band_lines(ax, part, "n_noise", "line", look, thin=GROUP_MODELS)
        ax.set_xscale("symlog", linthresh=50, linscale=0.6)
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_major_formatter(FixedFormatter([f"{v:g}" for v in values]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("noise features (symmetric log axis)")
        ax.set_title(label)
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("accuracy")
    fig.tight_layout()
    anchors.legend(fig, look, table["line"].unique())
    return fig


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    rows = rows.assign(n_noise=param(rows, params, "n_noise", 0))
    middle = at_level(rows, GROUP_SHIFT)
    table = sweep_table(middle)
    interpolation = _interpolation(middle)
    return pending(
        lambda verdicts: [*_over_parameterisation(middle, verdicts), *_regularisation(middle, verdicts),
                          interpolation],
        tables=[("reweighting", f"Worst-group accuracy at shift {GROUP_SHIFT:g} and training worst-group "
                 "accuracy per number of noise features: the group-label reference models and the panel's "
                 "four group means (95% t-interval over seeds)", table)],
        figures=[FigurePlan(
            "exp_reweighting", f"Left: worst-group accuracy at shift {GROUP_SHIFT:g} against the number of "
            "noise features (200 training rows) of the reweighted and upweighted unregularised logistic "
            "regressions, the strongly L2-regularised one on raw and on standardised features (thin, "
            "reference: they see training group labels) and the panel's four group means; right: the same "
            "lines' training worst-group accuracy (1.0 = interpolation). 95% t-bands over seeds.",
            lambda: _figure(table, middle))])


EXPERIMENT = Experiment(
    9, "subpopulation_shift", "Reweighting and over-parameterisation (Sagawa et al., 2020)",
    "Does group-balanced reweighting of an unregularised linear model lose worst-group accuracy as "
    "noise features are added, and does strong L2 regularisation prevent it?",
    analyse, select, claim=CLAIM)
