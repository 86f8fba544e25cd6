"""Where each paradigm wins: the paradigm difference related to what a scenario is.

The outcome is the primary contrast (discriminative minus generative, panel fits, flagged fits
excluded) on accuracy at the largest shift, one value per headline scenario (its mean over seeds).
The traits are declared by the generator families and recorded by the run (`run.json`):

* **source**: synthetic, real table or network (an expert Bayesian network: the only families
  where a generative model with the known structure is correctly specified);
* **discrete**: every feature discrete;
* **log10(n / d)**: training rows per feature, at the scenario's largest training size;
* **shortcut strength**: Bayes minus invariant (core-only) accuracy at shift 0, in points, where
  the family knows its densities (a second model over those scenarios only).

The meta-regression is weighted least squares with weight 1 / (the family's headline scenarios),
so that families weigh equally as in the headline, with standard errors clustered by family (the
independent units) and t intervals on families - 1 degrees of freedom. A binary trait enters only
where at least three families sit on each side of it (`MIN_FAMILIES_PER_SIDE`): a term carried by
one or two families is their own family effect. Beside it, the estimate per
source: a t interval over that source's family means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.report import analysis
from spurbench.report.prepare import at_largest_n_train, headline_suite, usable

METRIC = "accuracy_largest_shift"
TRAIT_COLUMNS = ("source", "discrete", "n_features")
SOURCES = ("synthetic", "real table", "network")
COEFFICIENT_COLUMNS = ["model", "term", "estimate", "ci_low", "ci_high", "p_value", "n_scenarios",
                       "n_families"]


def with_recorded_traits(rows: pd.DataFrame, meta: dict) -> pd.DataFrame:
    """`rows` with each scenario's recorded traits (`TRAIT_COLUMNS`); NaN where the run recorded
    none (a run made before traits were recorded)."""
    recorded = pd.DataFrame([{"scenario": s["name"], **{t: s.get(t) for t in TRAIT_COLUMNS}}
                             for s in meta.get("scenarios", ())],
                            columns=["scenario", *TRAIT_COLUMNS])
    return rows.drop(columns=[c for c in TRAIT_COLUMNS if c in rows]).merge(recorded, on="scenario",
                                                                            how="left")


def scenario_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per headline scenario: family, traits, the paradigm difference and the shortcut strength."""
    suite = headline_suite(frame)
    diffs = analysis.differences(analysis.fit_outcomes(suite), analysis.PARADIGM, METRIC)
    if diffs.empty or not set(TRAIT_COLUMNS) <= set(suite.columns):
        return pd.DataFrame(columns=["family", "scenario", "difference", *TRAIT_COLUMNS, "log10_n_per_d",
                                     "shortcut"])
    per = diffs.groupby(["family", "scenario"], sort=True)["difference"].mean().reset_index()
    rows = at_largest_n_train(usable(suite)).dropna(subset=list(TRAIT_COLUMNS))
    traits = rows.groupby("scenario").agg(source=("source", "first"), discrete=("discrete", "first"),
                                          n_features=("n_features", "first"), n_train=("n_train", "max"))
    start = rows[rows["shift"] == 0].groupby("scenario")[["bayes_accuracy", "invariant_accuracy"]].mean()
    shortcut = 100 * (start["bayes_accuracy"] - start["invariant_accuracy"])
    table = per.merge(traits, on="scenario").merge(shortcut.rename("shortcut"), on="scenario", how="left")
    table["log10_n_per_d"] = np.log10(table["n_train"] / table["n_features"].astype(float))
    table["discrete"] = table["discrete"].astype(bool)
    return table.drop(columns="n_train")


MIN_FAMILIES_PER_SIDE = 3  # a binary trait gets a term only with this many families on each side


def _splits(table: pd.DataFrame, mask: pd.Series) -> bool:
    """Whether a binary trait has `MIN_FAMILIES_PER_SIDE` families on each side: a term that one
    or two families carry is their family effect, and clustered errors cannot estimate it."""
    with_it = table.loc[mask, "family"].nunique()
    return min(with_it, table["family"].nunique() - with_it) >= MIN_FAMILIES_PER_SIDE


def _design(table: pd.DataFrame, with_shortcut: bool) -> pd.DataFrame:
    columns = {"intercept": np.ones(len(table))}
    for source in SOURCES[1:]:
        if _splits(table, table["source"] == source):
            columns[f"source = {source}"] = (table["source"] == source).to_numpy(float)
    discrete = table["discrete"].astype(bool)
    # discrete features that are not just the networks' (collinear with their source) get a term
    if _splits(table, discrete) and not discrete.equals(table["source"] == "network"):
        columns["discrete features"] = discrete.to_numpy(float)
    columns["log10(n / d)"] = table["log10_n_per_d"].to_numpy(float)
    if with_shortcut:
        columns["shortcut strength (points)"] = table["shortcut"].to_numpy(float)
    return pd.DataFrame(columns, index=table.index)


def _wls(table: pd.DataFrame, design: pd.DataFrame, name: str) -> list[dict]:
    """Family-weighted least squares with family-clustered standard errors (statsmodels)."""
    import statsmodels.api as sm

    families = table["family"].to_numpy()
    n_families = len(set(families))
    weights = 1.0 / table.groupby("family")["scenario"].transform("size").to_numpy(float)
    if n_families <= design.shape[1] or np.linalg.matrix_rank(design.to_numpy()) < design.shape[1]:
        return []
    codes = pd.factorize(families)[0]
    fit = sm.WLS(100 * table["difference"].to_numpy(float), design, weights=weights).fit(
        cov_type="cluster", cov_kwds={"groups": codes, "use_correction": True})
    dof = n_families - 1
    half = stats.t.ppf(0.975, dof) * fit.bse
    p = 2 * stats.t.sf(np.abs(fit.params / fit.bse), dof)
    return [{"model": name, "term": term, "estimate": fit.params[term],
             "ci_low": fit.params[term] - half[term], "ci_high": fit.params[term] + half[term],
             "p_value": p[i], "n_scenarios": len(table), "n_families": n_families}
            for i, term in enumerate(design.columns)]


def meta_regression(table: pd.DataFrame) -> pd.DataFrame:
    """Coefficients (accuracy points) of the difference on the traits: every headline scenario,
    then the scenarios with a known shortcut strength with it added."""
    records = _wls(table, _design(table, False), "all headline scenarios") if len(table) else []
    known = table.dropna(subset=["shortcut"])
    if len(known):
        records += _wls(known, _design(known, True), "scenarios with known densities")
    return pd.DataFrame(records, columns=COEFFICIENT_COLUMNS)


def by_source(table: pd.DataFrame) -> pd.DataFrame:
    """The paradigm difference per source: mean of family means with a t interval over families."""
    records = []
    for source in SOURCES:
        part = table[table["source"] == source]
        if part.empty:
            continue
        means = 100 * part.groupby("family")["difference"].mean().to_numpy()
        low, high = (stats.t.interval(0.95, len(means) - 1, means.mean(), stats.sem(means))
                     if len(means) > 1 and np.ptp(means) > 0 else (np.nan, np.nan))
        records.append({"source": source, "families": len(means), "scenarios": len(part),
                        "estimate": means.mean(), "ci_low": low, "ci_high": high,
                        "families_discriminative_ahead": int((means > 0).sum())})
    return pd.DataFrame(records, columns=["source", "families", "scenarios", "estimate", "ci_low", "ci_high",
                                          "families_discriminative_ahead"])


def sentences(sources: pd.DataFrame, coefficients: pd.DataFrame) -> list[str]:
    """The answer in words, whatever its sign, from the two tables."""
    if sources.empty:
        return ["No headline scenario has both paradigms and recorded traits: no analysis of conditions."]
    parts = []
    for r in sources.itertuples():
        interval = (f" (95% CI {r.ci_low:+.1f} to {r.ci_high:+.1f})" if np.isfinite(r.ci_low)
                    else " (no interval)")
        parts.append(f"{r.source}: {r.estimate:+.1f} points{interval}, discriminative ahead in "
                     f"{r.families_discriminative_ahead} of {r.families} families")
    lines = ["Discriminative minus generative accuracy at the largest shift, by source: "
             + "; ".join(parts) + "."]
    main = coefficients[(coefficients["model"] == "all headline scenarios")
                        & (coefficients["term"] != "intercept")]
    clear = [f"{r.term} ({r.estimate:+.1f} points, 95% CI {r.ci_low:+.1f} to {r.ci_high:+.1f})"
             for r in main.itertuples() if r.ci_low > 0 or r.ci_high < 0]
    if main.empty:
        lines.append("Too few families for the meta-regression.")
    elif clear:
        lines.append("In the meta-regression (exploratory, uncorrected intervals) the difference moves with "
                     + "; ".join(clear) + ".")
    else:
        lines.append("In the meta-regression (exploratory) no trait's coefficient has an interval that "
                     "excludes 0.")
    return lines


def figure(table: pd.DataFrame, sources: pd.DataFrame):
    """Per family: the mean paradigm difference, coloured by source, with each source's estimate
    and interval below; positive means discriminative is more accurate at the largest shift."""
    import matplotlib.pyplot as plt
    from spurbench.report.figures import NotEnoughData

    if table.empty:
        raise NotEnoughData("no headline scenario with both paradigms and recorded traits")
    colours = dict(zip(SOURCES, ("#4c72b0", "#dd8452", "#55a868"), strict=True))
    fam = (table.groupby("family").agg(difference=("difference", "mean"), source=("source", "first"))
           .assign(difference=lambda f: 100 * f["difference"]).reset_index())
    fam["order"] = fam["source"].map(SOURCES.index)
    fam = fam.sort_values(["order", "difference"], kind="stable", ignore_index=True)
    rows = len(fam) + len(sources) + 1
    fig, ax = plt.subplots(figsize=(6.0, 1.0 + 0.16 * rows))
    y = np.arange(len(fam))
    ax.scatter(fam["difference"], y, c=[colours[s] for s in fam["source"]], s=14, zorder=3)
    for i, r in enumerate(sources.itertuples()):
        level = len(fam) + 1 + i
        ax.plot(r.estimate, level, marker="D", color=colours[r.source], markersize=5)
        if np.isfinite(r.ci_low):
            ax.hlines(level, r.ci_low, r.ci_high, color=colours[r.source], linewidth=1.6)
    labels = [*fam["family"], *[f"{s} ({n} families)" for s, n in zip(sources["source"], sources["families"],
                                                                       strict=True)]]
    ax.set_yticks([*y, *(len(fam) + 1 + np.arange(len(sources)))], labels, fontsize=6)
    ax.axvline(0, color="0.6", linewidth=0.8)
    ax.invert_yaxis()
    ax.set_xlabel("discriminative minus generative accuracy at the largest shift (points)")
    ax.grid(axis="y", visible=False)
    return fig


def draw(frame: pd.DataFrame):
    """The conditions figure from the report's rows (the gallery's builder)."""
    table = scenario_table(frame)
    return figure(table, by_source(table))
