"""How the paradigms degrade: a fixed-effects regression and paired best-model comparisons.

Sign convention everywhere: **discriminative minus generative**. For degradation (accuracy at
shift 0 minus accuracy at the shifted level) a positive effect means discriminative models lose
more accuracy under shift; for shifted accuracy a positive difference means the best
discriminative model is more accurate.

Both analyses use the base learners at each scenario's largest n_train (see `prepare`). Their
confidence intervals describe the sampling of data (seeds), not of models: the models are a fixed
set, so "the paradigm effect" is the effect of *these* models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from benchmark.report.prepare import (
    at_largest_n_train,
    learner_degradation,
    learners,
    t_interval,
    usable,
)

ALPHA = 0.05
ALL_FAMILIES = "all"


def degradation_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The base learners' shifted rows at the largest n_train, with their `degradation`."""
    rows = learner_degradation(frame)
    return rows[rows["shift"] > 0].dropna(subset=["degradation"])


def _paradigm_model(rows: pd.DataFrame) -> dict | None:
    """Fit degradation ~ discriminative * centred shift + scenario fixed effects on `rows`.

    Shift is centred at its mean over `rows`, so the `discriminative` coefficient is the paradigm
    effect at the average shifted level and the interaction is how it grows per unit of shift.
    Standard errors are cluster-robust over scenario x seed (every model of one seed sees the same
    data) with t inference on (clusters - 1) degrees of freedom. None when a paradigm is absent
    or there are fewer than two clusters.
    """
    clusters = pd.factorize(rows["scenario"] + "/" + rows["seed"].astype(str))[0]
    n_clusters = int(clusters.max()) + 1 if len(clusters) else 0
    if rows["paradigm"].nunique() < 2 or n_clusters < 2:
        return None
    centre = float(rows["shift"].mean())
    data = pd.DataFrame({
        "degradation": rows["degradation"].to_numpy(float),
        "discriminative": (rows["paradigm"] == "discriminative").to_numpy(float),
        "shift_c": rows["shift"].to_numpy(float) - centre,
        "scenario": rows["scenario"].to_numpy(),
    })
    terms = ["discriminative * shift_c" if rows["shift"].nunique() > 1 else "discriminative"]
    if rows["scenario"].nunique() > 1:
        terms.append("C(scenario)")
    result = smf.ols("degradation ~ " + " + ".join(terms), data).fit(
        cov_type="cluster", cov_kwds={"groups": clusters}, use_t=True)
    ci = result.conf_int(ALPHA)
    has_slope = "discriminative:shift_c" in result.params
    return {
        "effect": result.params["discriminative"],
        "ci_low": ci.loc["discriminative", 0], "ci_high": ci.loc["discriminative", 1],
        "p_value": result.pvalues["discriminative"],
        "slope_effect": result.params["discriminative:shift_c"] if has_slope else np.nan,
        "slope_ci_low": ci.loc["discriminative:shift_c", 0] if has_slope else np.nan,
        "slope_ci_high": ci.loc["discriminative:shift_c", 1] if has_slope else np.nan,
        "centre_shift": centre, "n_rows": len(rows), "n_clusters": n_clusters,
        "n_scenarios": rows["scenario"].nunique(),
    }


def paradigm_effects(frame: pd.DataFrame) -> pd.DataFrame:
    """The paradigm effect on degradation (discriminative minus generative), per family and overall.

    One row per family (sorted) and a last row ``family == "all"`` pooling every scenario; a
    family where one paradigm is missing has no row.
    """
    rows = degradation_rows(frame)
    subsets = [(family, part) for family, part in rows.groupby("family", sort=True)]
    if rows["family"].nunique() > 1:
        subsets.append((ALL_FAMILIES, rows))
    fits = [(family, _paradigm_model(part)) for family, part in subsets]
    records = [{"family": family, **fit} for family, fit in fits if fit is not None]
    return pd.DataFrame(records, columns=[
        "family", "effect", "ci_low", "ci_high", "p_value", "slope_effect", "slope_ci_low",
        "slope_ci_high", "centre_shift", "n_rows", "n_clusters", "n_scenarios"])


def _best(cell: pd.DataFrame, paradigm: str) -> str | None:
    """The model of `paradigm` with the highest mean shifted accuracy (ties: first by name)."""
    means = cell[cell["paradigm"] == paradigm].groupby("model")["accuracy"].mean()
    return None if means.empty else str(means.idxmax())


def paired_comparisons(frame: pd.DataFrame) -> pd.DataFrame:
    """Best discriminative versus best generative model per scenario, paired over seeds.

    "Best" is the highest mean accuracy over the scenario's shifted levels (mean over seeds); each
    seed contributes its mean shifted accuracy, and the two models are compared with a paired
    t-test on the seeds both completed. p-values are Holm-corrected across scenarios. The best
    models are picked on the same seeds they are tested on, which favours finding a difference:
    read the p-values as descriptive.
    """
    rows = learners(at_largest_n_train(usable(frame)))
    per_seed = rows[rows["shift"] > 0].groupby(
        ["family", "scenario", "paradigm", "model", "seed"], as_index=False)["accuracy"].mean()
    records = []
    for (family, scenario), cell in per_seed.groupby(["family", "scenario"], sort=True):
        gen, disc = _best(cell, "generative"), _best(cell, "discriminative")
        if gen is None or disc is None:
            continue
        pair = pd.concat([cell[cell["model"] == m].set_index("seed")["accuracy"] for m in (gen, disc)],
                         axis=1, join="inner").dropna()
        diff = pair.iloc[:, 1] - pair.iloc[:, 0]
        testable = len(diff) >= 2 and diff.std() > 0
        t, p = stats.ttest_rel(pair.iloc[:, 1], pair.iloc[:, 0]) if testable else (np.nan, np.nan)
        low, high = t_interval(diff)
        records.append({
            "family": family, "scenario": scenario, "best_generative": gen, "best_discriminative": disc,
            "generative_accuracy": pair.iloc[:, 0].mean(), "discriminative_accuracy": pair.iloc[:, 1].mean(),
            "difference": diff.mean(), "ci_low": low, "ci_high": high, "n_seeds": len(diff),
            "t": float(t), "p_value": float(p)})
    table = pd.DataFrame(records, columns=[
        "family", "scenario", "best_generative", "best_discriminative", "generative_accuracy",
        "discriminative_accuracy", "difference", "ci_low", "ci_high", "n_seeds", "t", "p_value"])
    table["p_holm"] = np.nan
    finite = table["p_value"].notna()
    if finite.any():
        table.loc[finite, "p_holm"] = multipletests(table.loc[finite, "p_value"], ALPHA, "holm")[1]
    return table
