"""How the paradigms and model groups degrade: per-(scenario, seed) differences and a mixed model.

Definitions (stated once, here, and quoted by the report):

* **drop** of a fit: accuracy at shift 0 minus accuracy at a shifted level (`metrics.degradation`,
  paired within the fitted model), averaged over the scenario's shifted levels. Positive means
  the model loses accuracy under shift. Co-primary with it: accuracy and worst-group accuracy at
  the scenario's largest shift level.
* a **contrast** is discriminative minus generative: a paradigm, a group against a group, or a
  pre-registered pair of models. One (scenario, seed) gives one value: the mean over the first
  side's panel fits minus the mean over the second side's (every model of a seed saw the same
  data, so the difference is paired). Scenarios therefore weigh equally, whatever their rows.
* the **family-level estimate** weighs families equally, and scenarios equally within a family:
  each scenario's mean over seeds, averaged within its family, gives one value per family; the
  estimate is the mean of the family means and its interval is Student t over them on
  (families - 1) degrees of freedom, since families (independent data-generating processes) are
  the unit of generalisation. It never falls back to a narrower scenario-level interval: with one
  family the interval is over that family's scenario means (or seeds, with one scenario), and the
  line says so. Beside it: the leave-one-family-out range (the estimate with each family left out
  in turn), and, as a sensitivity analysis for the paradigm contrast, the fixed intercept of a
  linear mixed model (statsmodels MixedLM, REML) with a random intercept per family and a variance
  component for scenarios nested in families, whose implied weights follow the variance
  components rather than the design.
* **best of a side** is chosen per scenario on mean validation accuracy (a sample of the training
  distribution with its own stream), never on test draws.

Everything reads the largest n_train of each scenario and the panel rows of `prepare.panel`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.evaluation import metrics
from spurbench.report.prepare import (
    at_largest_n_train,
    at_largest_shift,
    fit_flags,
    headline_suite,
    panel,
    t_interval,
    usable,
)
from spurbench.report.reproducible import significant

if TYPE_CHECKING:
    from statsmodels.regression.mixed_linear_model import MixedLM

ALPHA = 0.05
SCALE = 100.0
KEYS = ["family", "scenario", "seed"]
METRICS = {"drop": "drop", "accuracy_largest_shift": "accuracy at the largest shift",
           "wga_largest_shift": "worst-group accuracy at the largest shift"}
MIXED = "mixed model (family + scenario-in-family random effects)"
FAMILY_T = "t-interval over family means"
SCENARIO_T = "t-interval over scenario means (one family)"
SEED_T = "t-interval over seeds (one scenario)"


@dataclass(frozen=True)
class Contrast:
    """`plus` minus `minus`, where both name a value of `column` (paradigm, group or model)."""

    name: str
    column: str
    plus: str
    minus: str
    why: str = ""


PARADIGM = Contrast("discriminative - generative", "paradigm", "discriminative", "generative")
GROUP_CONTRASTS = tuple(
    Contrast(f"{d} - {g}", "group", d, g)
    for d in ("linear_discriminative", "nonlinear_discriminative")
    for g in ("parametric_generative", "flexible_generative"))
# Stated in report.md before any number, and fixed here before any run.
PREREGISTERED_PAIRS = (
    Contrast("logistic_regression - nb_shared_var", "model", "logistic_regression", "nb_shared_var",
             "Ng & Jordan's discriminative-generative pair"),
    Contrast("logistic_regression - lda_shrinkage", "model", "logistic_regression", "lda_shrinkage",
             "the linear pair with a shared covariance"),
    Contrast("mlp - gmm_classifier", "model", "mlp", "gmm_classifier", "flexible models of each paradigm"),
    Contrast("mlp - kde_classifier", "model", "mlp", "kde_classifier", "flexible models of each paradigm"),
)
CONTRASTS = (PARADIGM, *GROUP_CONTRASTS, *PREREGISTERED_PAIRS)
SELECTABLE = (PARADIGM, *GROUP_CONTRASTS)
EFFECT_COLUMNS = ["contrast", "metric", "selection", "flagged", "estimate", "ci_low", "ci_high", "p_value",
                  "method", "clusters", "n_families", "n_scenarios", "n_units", "lofo_low", "lofo_high"]


def fit_outcomes(frame: pd.DataFrame, include_flagged: bool = False) -> pd.DataFrame:
    """One row per panel fit of a scenario with shifts (largest n_train): drop, accuracy and
    worst-group accuracy at the largest shift, and validation accuracy."""
    rows = panel(at_largest_n_train(usable(frame)), include_flagged)
    rows = rows[rows.groupby("scenario")["shift"].transform("nunique") > 1]
    ident = ["family", "scenario", "model", "paradigm", "group", "seed"]
    shifted = rows.assign(drop=metrics.degradation(rows))
    drop = shifted[shifted["shift"] > 0].groupby(ident)["drop"].mean()
    last = at_largest_shift(rows).set_index(ident)
    val = rows.groupby(ident)["val_accuracy"].first()
    out = pd.concat([drop, last["accuracy"].rename("accuracy_largest_shift"),
                     last["worst_group_accuracy"].rename("wga_largest_shift"), val], axis=1)
    return out.reset_index()


def differences(outcomes: pd.DataFrame, contrast: Contrast, metric: str) -> pd.DataFrame:
    """Per (family, scenario, seed): mean `metric` of the plus side minus the minus side."""
    sides = outcomes[outcomes[contrast.column].isin([contrast.plus, contrast.minus])]
    wide = sides.groupby([*KEYS, contrast.column])[metric].mean().unstack(contrast.column)
    if not {contrast.plus, contrast.minus} <= set(wide.columns):
        return pd.DataFrame(columns=[*KEYS, "difference"])
    diff = (wide[contrast.plus] - wide[contrast.minus]).dropna()
    return diff.rename("difference").reset_index()


def best_differences(outcomes: pd.DataFrame, contrast: Contrast, metric: str) -> tuple[pd.DataFrame, dict]:
    """Like `differences`, between the best model of each side per scenario, chosen on mean
    validation accuracy (ties to the first model name); also returns {scenario: (best plus model,
    best minus model)}."""
    sides = outcomes[outcomes[contrast.column].isin([contrast.plus, contrast.minus])]
    val = sides.groupby(["scenario", contrast.column, "model"])["val_accuracy"].mean().dropna()
    best = (val.groupby(level=["scenario", contrast.column]).idxmax().str[2]
            .unstack(contrast.column).reindex(columns=[contrast.plus, contrast.minus]).dropna())
    if best.empty:
        return pd.DataFrame(columns=[*KEYS, "difference"]), {}
    chosen = {scenario: (plus, minus) for scenario, plus, minus in best.itertuples()}

    def side(column: str) -> pd.Series:
        picked = best[column].rename("model").reset_index()
        return sides.merge(picked, on=["scenario", "model"]).groupby(KEYS)[metric].mean()

    diff = (side(contrast.plus) - side(contrast.minus)).dropna().rename("difference").reset_index()
    return diff.sort_values(["scenario", "seed"], kind="stable", ignore_index=True), chosen


def _t_summary(values: np.ndarray, method: str) -> dict:
    mean = float(np.mean(values)) if len(values) else np.nan
    n = len(values)
    if n < 2 or np.ptp(values) == 0:
        return {"estimate": mean, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan, "method": method,
                "clusters": n}
    low, high = t_interval(values)
    p = stats.ttest_1samp(values, 0.0).pvalue
    return {"estimate": mean, "ci_low": low, "ci_high": high, "p_value": float(p), "method": method,
            "clusters": n}


def _nested_intercepts(y: np.ndarray, families: np.ndarray, scenarios: np.ndarray) -> MixedLM:
    """`smf.mixedlm("y ~ 1", groups=family, re_formula="1", vc_formula={"scenario": "0 +
    C(scenario)"})` built from arrays: the same design matrices (per family, in sorted order, one
    indicator column per scenario of the family, sorted) without patsy, which took a third of the
    time of a fit. statsmodels' mixed model is imported here, where one is fitted: a run with one
    scenario per family (the quick grid) never loads it."""
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    names, mats = [], []
    for family in sorted(set(families)):
        levels, codes = np.unique(scenarios[families == family], return_inverse=True)
        names.append([f"C(scenario)[{level}]" for level in levels])
        mats.append(np.eye(len(levels))[codes])
    exog = pd.DataFrame({"Intercept": np.ones(len(y))})
    return MixedLM(y, exog, groups=families, exog_re=np.ones((len(y), 1)),
                   exog_vc=VCSpec(["scenario"], [names], [mats]))


def _mixed(diffs: pd.DataFrame) -> dict | None:
    """The mixed model's intercept, or None when it cannot be fitted (the caller falls back)."""
    n_families = diffs["family"].nunique()
    nested = diffs.groupby("family")["scenario"].nunique().max() >= 2
    if n_families < 2 or not nested or diffs["difference"].std() == 0:
        return None
    # In percentage points: on the 0-1 scale the variances are ~1e-4 and the gradient optimisers
    # stop short; Powell (derivative-free) converges on these small designs, L-BFGS is the fallback.
    model = _nested_intercepts(SCALE * diffs["difference"].to_numpy(float), diffs["family"].to_numpy(),
                               diffs["scenario"].to_numpy())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = model.fit(reml=True, method=["powell", "lbfgs"])
            estimate = float(result.fe_params["Intercept"]) / SCALE
            se = float(result.bse_fe["Intercept"]) / SCALE
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not (result.converged and np.isfinite(se) and se > 0):
        return None
    dof = n_families - 1
    half = stats.t.ppf(1 - ALPHA / 2, dof) * se
    return {"estimate": estimate, "ci_low": estimate - half, "ci_high": estimate + half,
            "p_value": float(2 * stats.t.sf(abs(estimate) / se, dof)), "method": MIXED,
            "clusters": n_families}


def family_means(diffs: pd.DataFrame) -> pd.Series:
    """One value per family: the mean over its scenarios of each scenario's mean over seeds."""
    per_scenario = diffs.groupby(["family", "scenario"], sort=True)["difference"].mean()
    return per_scenario.groupby(level="family", sort=True).mean()


def leave_one_family_out(diffs: pd.DataFrame) -> tuple[float, float]:
    """The smallest and largest estimate with one family left out in turn (NaN with < 3 families)."""
    means = family_means(diffs)
    if len(means) < 3:
        return np.nan, np.nan
    left_out = (means.sum() - means) / (len(means) - 1)
    return float(left_out.min()), float(left_out.max())


def family_estimate(diffs: pd.DataFrame) -> dict:
    """The family-level estimate of a contrast from its per-(scenario, seed) differences.

    Returns estimate, ci_low, ci_high, p_value, method (which interval gave them), clusters (the
    independent units the interval rests on), n_families, n_scenarios, n_units and the
    leave-one-family-out range (lofo_low, lofo_high).
    """
    counts = {"n_families": diffs["family"].nunique(), "n_scenarios": diffs["scenario"].nunique(),
              "n_units": len(diffs)}
    if diffs.empty:
        return {**_t_summary(np.array([]), FAMILY_T), **counts, "lofo_low": np.nan, "lofo_high": np.nan}
    if counts["n_families"] > 1:
        fit = _t_summary(family_means(diffs).to_numpy(float), FAMILY_T)
    elif counts["n_scenarios"] > 1:
        fit = _t_summary(diffs.groupby("scenario")["difference"].mean().to_numpy(float), SCENARIO_T)
    else:
        fit = _t_summary(diffs["difference"].to_numpy(float), SEED_T)
    low, high = leave_one_family_out(diffs)
    return {**_stable(fit), **counts, "lofo_low": significant(low), "lofo_high": significant(high)}


def _stable(fit: dict) -> dict:
    """At the tables' precision, where they are computed: an iterative fit's last digits vary
    between machines (`reproducible`)."""
    return {**fit, **{key: significant(fit[key]) for key in ("estimate", "ci_low", "ci_high", "p_value")}}


def mixed_estimate(diffs: pd.DataFrame) -> dict | None:
    """The mixed model's intercept (the sensitivity analysis), or None where it cannot be fitted."""
    fit = _mixed(diffs)
    if fit is None:
        return None
    return {**_stable(fit), "n_families": diffs["family"].nunique(),
            "n_scenarios": diffs["scenario"].nunique(), "n_units": len(diffs), "lofo_low": np.nan,
            "lofo_high": np.nan}


def scenario_gaps(diffs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: the mean difference over seeds with its 95% t-interval (the forest plot)."""
    records = []
    for (family, scenario), cell in diffs.groupby(["family", "scenario"], sort=True):
        low, high = t_interval(cell["difference"])
        records.append({"family": family, "scenario": scenario, "difference": cell["difference"].mean(),
                        "ci_low": low, "ci_high": high, "n_seeds": len(cell)})
    return pd.DataFrame(records, columns=["family", "scenario", "difference", "ci_low", "ci_high", "n_seeds"])


def paradigm_drop_differences(frame: pd.DataFrame) -> pd.DataFrame:
    """The headline contrast's units: discriminative minus generative drop per (scenario, seed)."""
    return differences(fit_outcomes(frame), PARADIGM, "drop")


def effects(frame: pd.DataFrame) -> pd.DataFrame:
    """Every contrast's family-level estimate: all panel fits on the three co-primary metrics;
    the best model of each side (validation-chosen) on accuracy at the largest shift; and, as the
    sensitivity analysis, drop with the flagged fits included."""
    frame = headline_suite(frame)
    kept, every = fit_outcomes(frame), fit_outcomes(frame, include_flagged=True)
    records = []
    for contrast in CONTRASTS:
        for metric in METRICS:
            diffs = differences(kept, contrast, metric)
            records.append({"contrast": contrast.name, "metric": metric, "selection": "panel",
                            "flagged": "excluded", **family_estimate(diffs)})
            mixed = mixed_estimate(diffs) if contrast is PARADIGM else None
            if mixed is not None:
                records.append({"contrast": contrast.name, "metric": metric, "selection": "mixed model",
                                "flagged": "excluded", **mixed})
        records.append({"contrast": contrast.name, "metric": "drop", "selection": "panel",
                        "flagged": "included", **family_estimate(differences(every, contrast, "drop"))})
    for contrast in SELECTABLE:
        diffs, _ = best_differences(kept, contrast, "accuracy_largest_shift")
        records.append({"contrast": contrast.name, "metric": "accuracy_largest_shift",
                        "selection": "best on validation", "flagged": "excluded", **family_estimate(diffs)})
    return pd.DataFrame(records, columns=EFFECT_COLUMNS)


def best_models(frame: pd.DataFrame) -> pd.DataFrame:
    """Per scenario: the best model of each paradigm and group, chosen on validation accuracy."""
    outcomes = fit_outcomes(frame)
    records: dict[str, dict] = {}
    # The paradigm contrast, and two group contrasts that between them name all four groups.
    linear_parametric, nonlinear_flexible = GROUP_CONTRASTS[0], GROUP_CONTRASTS[3]
    for contrast in (PARADIGM, linear_parametric, nonlinear_flexible):
        _, chosen = best_differences(outcomes, contrast, "accuracy_largest_shift")
        for scenario, (plus, minus) in chosen.items():
            records.setdefault(scenario, {"scenario": scenario})
            records[scenario] |= {contrast.plus: plus, contrast.minus: minus}
    return pd.DataFrame(list(records.values()))


def exclusions(frame: pd.DataFrame) -> pd.DataFrame:
    """Per panel model with a flagged fit: flagged fits by flag, and the rows the rule drops."""
    rows = panel(usable(frame), include_flagged=True)
    fits = rows.assign(fit_flags=fit_flags(rows)).drop_duplicates(metrics.FIT_KEYS)
    fits = fits[fits["fit_flags"] != ""]
    if fits.empty:
        return pd.DataFrame(columns=["model", "flag", "fits", "rows_excluded"])
    dropped = rows[~rows.index.isin(panel(rows).index)].groupby("model").size()
    split = fits.assign(flag=fits["fit_flags"].str.split(",")).explode("flag")
    table = split.groupby(["model", "flag"]).size().rename("fits").reset_index()
    return table.assign(rows_excluded=table["model"].map(dropped).fillna(0).astype(int))
