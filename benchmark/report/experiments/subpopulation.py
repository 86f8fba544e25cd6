"""Experiment 3, subpopulation shift: which models keep the rare groups right, and does adding pure
noise dimensions make it worse (over-parameterisation, after Sagawa et al., 2020)?

Per model, worst-group accuracy in the scenario that ran the most models (shown, not tested); then
its path over the scenarios' `n_noise` at the training size they all share, for the models they all
ran, where the two claims of `CLAIM` are tested. The reweighted models Sagawa et al. trained are the
reweighting experiment's; here the panel learners are trained as usual (no group labels).
"""

from __future__ import annotations

import pandas as pd
from spurbench.report.claims import Verdicts
from spurbench.report.experiments import _plots as plots
from spurbench.report.experiments._common import (
    GROUP_SHIFT,
    SHORTCUT_METRICS,
    WGA,
    Experiment,
    FigurePlan,
    Params,
    Pending,
    Section,
    best_of,
    change_sentence,
    common_models,
    common_n_train,
    generative_groups_sentence,
    group_metrics,
    model_change,
    paradigm_path,
    param,
    pending,
    rule,
    value_range,
)
from spurbench.report.experiments._stats import at_level, paradigm_contrast
from spurbench.report.prepare import at_largest_n_train, learners, model_order

CLAIM = (
    "Published claims: (1) Sagawa, Raghunathan, Koh & Liang (ICML 2020, \"An investigation of why "
    "over-parameterization exacerbates spurious correlations\"): adding parameters (here pure-noise "
    "features) lowers worst-group accuracy; (2) Li, Kumar & Pathak (ICLR 2025): generative classifiers "
    "keep the worst group better than discriminative ones. Pre-registered tests, worst-group accuracy "
    "at shift 0.5 at the training size every scenario ran: (1) per learner, at the most minus at the "
    "fewest noise features (Welch over seeds), claimed below 0; (2) at the most noise features, the "
    "panel's discriminative minus generative mean per seed (paired over seeds), claimed below 0; both "
    "by at least the pre-registered 0.020. " + rule("the difference is below 0"))


def _per_model(rows: pd.DataFrame) -> Section:
    """Worst-group accuracy of every model in the scenario with the most models (largest n_train)."""
    counts = learners(rows).groupby("scenario")["model"].nunique()
    widest = counts.sort_values(ascending=False, kind="stable").index[0]
    base = at_level(at_largest_n_train(rows[rows["scenario"] == widest]), GROUP_SHIFT)
    points = base.assign(value=base["worst_group_accuracy"])
    means = learners(points).groupby(["model", "paradigm"], as_index=False)["value"].mean()
    best = best_of(means, "value")
    ranges = {p: value_range(part["value"]) for p, part in means.groupby("paradigm")}
    oracle = points.loc[points["model"] == "invariant_oracle", "value"]
    size = base["n_train"].iloc[0]
    bullet = (f"In `{widest}` (n_train {size}), the highest worst-group accuracy at shift {GROUP_SHIFT:g} is "
              f"`{best.model}`'s ({best.value:.3f}, {best.paradigm}); generative models range "
              f"{ranges.get('generative', '–')}, discriminative {ranges.get('discriminative', '–')}"
              + (f"; the invariant oracle reaches {oracle.mean():.3f}." if len(oracle) else "."))
    return Section(bullets=[bullet], figures=[FigurePlan(
        "exp_subpopulation_models", f"Worst-group accuracy at shift {GROUP_SHIFT:g} per model in `{widest}` "
        f"(n_train {size}; mean and 95% t-interval over seeds).", lambda: plots.model_points(points, WGA))])


def _noise_sweep(rows: pd.DataFrame, size: int) -> Pending:
    """Worst-group accuracy against n_noise at training size `size`."""
    at_size = rows[rows["n_train"] == size]
    sweep = common_models(at_size)
    middle = at_level(sweep, GROUP_SHIFT)
    contrast = paradigm_contrast(middle, "worst_group_accuracy", ["n_noise"])
    changes = model_change(middle, "n_noise", "worst_group_accuracy")
    per_model = at_level(at_size, GROUP_SHIFT).pivot_table(index="model", columns="n_noise",
                                                           values="worst_group_accuracy")
    per_model = per_model.reindex([m for m in model_order(at_size) if m in per_model.index])
    per_model.columns = [f"n_noise={c:g}" for c in per_model.columns]
    most = middle[middle["n_noise"] == middle["n_noise"].max()]
    by_group = generative_groups_sentence(most, "worst_group_accuracy", f"worst-group accuracy with "
                                          f"n_train {size} and {most['n_noise'].max():g} noise features")

    def bullets(verdicts: Verdicts) -> list[str]:
        path = paradigm_path(contrast, "n_noise", "worst-group accuracy", -1, verdicts)
        out = [f"With n_train {size}: {path} (claim 2)."] if not contrast.empty else []
        out += [by_group] if by_group and not contrast.empty else []
        out.append(change_sentence(changes, "worst-group accuracy (claim 1)", "number of noise features",
                                   -1, verdicts))
        return out

    long = group_metrics(sweep, ["n_noise"])
    return pending(
        bullets,
        tables=[
            ("subpopulation_per_model", f"Worst-group accuracy at shift {GROUP_SHIFT:g} per model and number "
             f"of noise features (n_train {size}; mean over seeds)", per_model.reset_index()),
            ("subpopulation_paradigms", "Worst-group accuracy per paradigm and number of noise features "
             "(discriminative minus generative, 95% t-interval over seeds)", contrast),
            ("subpopulation_change", "Change of worst-group accuracy from the fewest to the most noise "
             "features, per model (Welch 95% interval)", changes)],
        figures=[FigurePlan(
            "exp_subpopulation_noise", f"Worst-group accuracy and flip rate at shift {GROUP_SHIFT:g}, and "
            f"accuracy at shift 1, versus the number of pure-noise features (n_train {size}; equally spaced "
            "sweep values); 95% t-bands over seeds.",
            lambda: plots.facet_lines(long, "n_noise", "noise features", "metric", list(SHORTCUT_METRICS),
                                      xscale="ordinal"))])


def analyse(rows: pd.DataFrame, params: Params) -> Pending:
    rows = rows.assign(n_noise=param(rows, params, "n_noise", 0))
    section = _per_model(rows)
    size = common_n_train(rows)
    if size is None or rows.loc[rows["n_train"] == size, "n_noise"].nunique() < 2:
        section.bullets.append("No noise sweep: the scenarios share no training size, or share one at "
                               "which the number of noise features does not vary.")
        return Pending(lambda verdicts: section)
    sweep = _noise_sweep(rows, size)

    def write(verdicts: Verdicts) -> Section:
        swept = sweep.write(verdicts)
        return Section(section.bullets + swept.bullets, swept.tables, section.figures + swept.figures)

    return Pending(write)


EXPERIMENT = Experiment(
    3, "subpopulation_shift", "Subpopulation shift and over-parameterisation",
    "Which models keep the rare groups right, and do extra noise dimensions make it worse (Sagawa "
    "et al., 2020)?",
    analyse, claim=CLAIM)
