"""The paradigm and group estimates by mechanism: does the answer hold for every kind of data?

A headline scenario's **mechanism** says how its shift comes about (`mechanism`, the one place
that decides it, from what the run recorded in `run.json`):

* **real tables**: a real table whose shortcut is a natural attribute resampled to agree with the
  label (`real_table`, mechanism "agreement") or one injected into it (`tabular_injection`,
  `patched_digits`); also a real table without a shift (mechanism "none"), which has no shifted
  level and so never enters a contrast;
* **unseen domains**: a real table tested on domains held out of training (`real_table`,
  mechanism "unseen_domain");
* **Bayesian networks**: an expert network sampled ancestrally (source "network");
* **synthetic**: a synthetic mechanism (source "synthetic").

A family (one real table, one network, one synthetic mechanism) can hold scenarios of two
mechanisms: a table with an agreement scenario and an unseen-domain one counts as one family in
each. Within a mechanism the estimate is the family-level estimate of `analysis`: each scenario's
mean over seeds, averaged within its family, and the mean of those family means with a 95% Student
t-interval over them on F - 1 degrees of freedom (F: the mechanism's families). It is a
description of where the headline estimate comes from, not a claim of the hierarchy: its intervals
are uncorrected, and one resting on fewer than `claims.MIN_CLUSTERS` families is marked not called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from spurbench.report import analysis
from spurbench.report.claims import MIN_CLUSTERS
from spurbench.report.prepare import headline_suite, t_interval
from spurbench.report.reproducible import significant

MECHANISM = "mechanism"  # the rows' column `with_mechanism` adds
REAL, UNSEEN, NETWORKS, SYNTHETIC = "real tables", "unseen domains", "Bayesian networks", "synthetic"
MECHANISMS = (REAL, UNSEEN, NETWORKS, SYNTHETIC)
CONTRASTS = (analysis.PARADIGM, *analysis.GROUP_CONTRASTS)
COLUMNS = ["contrast", "metric", "mechanism", "estimate", "ci_low", "ci_high", "p_value", "n_families",
           "n_scenarios", "note"]
NOT_CALLED = f"fewer than {MIN_CLUSTERS} families: not called"


def mechanism(scenario: Mapping[str, Any]) -> str | None:
    """The mechanism of a scenario from its `run.json` entry (its declared `source` and its
    `params`): one of `MECHANISMS`; a plugin family's own source as it declares it; None where the
    run recorded no source (a run made before sources were recorded)."""
    source = scenario.get("source")
    if source is None:
        return None
    if source == "real table":
        unseen = (scenario.get("params") or {}).get("mechanism") == "unseen_domain"
        return UNSEEN if unseen else REAL
    return {"network": NETWORKS, "synthetic": SYNTHETIC}.get(source, source)


def with_mechanism(rows: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    """`rows` with each row's scenario's `mechanism` (NaN for a scenario the run did not record)."""
    kinds = {entry["name"]: mechanism(entry) for entry in meta.get("scenarios", ())}
    return rows.assign(**{MECHANISM: rows["scenario"].map(kinds)})


def estimate(diffs: pd.DataFrame) -> dict:
    """The family-level estimate of one mechanism's per-(scenario, seed) differences: the mean of
    its family means, the t-interval over them (none with one family, or no spread), its p-value,
    the counts, and the note that an interval from fewer than `MIN_CLUSTERS` families is not
    called."""
    means = analysis.family_means(diffs).to_numpy(float)
    low = high = p = np.nan
    if len(means) >= 2 and np.ptp(means) > 0:
        low, high = t_interval(means)
        p = float(stats.ttest_1samp(means, 0.0).pvalue)
    return {"estimate": significant(means.mean()), "ci_low": significant(low), "ci_high": significant(high),
            "p_value": significant(p), "n_families": len(means), "n_scenarios": diffs["scenario"].nunique(),
            "note": "" if len(means) >= MIN_CLUSTERS else NOT_CALLED}


def _order(present: set[str]) -> list[str]:
    """`MECHANISMS` first, in their order, then any plugin's own, sorted."""
    return [m for m in MECHANISMS if m in present] + sorted(present - set(MECHANISMS))


def by_mechanism(frame: pd.DataFrame) -> pd.DataFrame:
    """Per paradigm and group contrast, co-primary metric and mechanism: the family-level estimate
    over the headline suite (panel fits, flagged fits excluded), on the 0-1 scale of `effects`."""
    suite = headline_suite(frame)
    if MECHANISM not in suite or suite[MECHANISM].isna().all():
        return pd.DataFrame(columns=COLUMNS)
    kinds = suite.groupby("scenario")[MECHANISM].first()
    outcomes = analysis.fit_outcomes(suite)
    records = []
    for contrast in CONTRASTS:
        for metric in analysis.METRICS:
            diffs = analysis.differences(outcomes, contrast, metric)
            diffs = diffs.assign(**{MECHANISM: diffs["scenario"].map(kinds)}).dropna(subset=[MECHANISM])
            for kind in _order(set(diffs[MECHANISM])):
                records.append({"contrast": contrast.name, "metric": metric, "mechanism": kind,
                                **estimate(diffs[diffs[MECHANISM] == kind])})
    return pd.DataFrame(records, columns=COLUMNS)


def _cell(row: pd.Series) -> str:
    """`+1.2 (-0.5 to +2.9; 16)` in points: estimate, 95% interval, families; marked when not called."""
    if not np.isfinite(row["ci_low"]):
        interval = "no interval"
    else:
        interval = f"{analysis.SCALE * row['ci_low']:+.1f} to {analysis.SCALE * row['ci_high']:+.1f}"
    called = "" if row["n_families"] >= MIN_CLUSTERS else ", not called"
    return f"{analysis.SCALE * row['estimate']:+.1f} ({interval}; {row['n_families']}{called})"


def compact(table: pd.DataFrame, contrasts: tuple[analysis.Contrast, ...] = CONTRASTS) -> pd.DataFrame:
    """`by_mechanism` as report.md shows it: one row per contrast and metric, one column per
    mechanism, each cell `estimate (95% CI; families)` in points."""
    names = [c.name for c in contrasts]
    part = table[table["contrast"].isin(names)]
    if part.empty:
        return pd.DataFrame(columns=["contrast", "metric"])
    cells = part.assign(cell=part.apply(_cell, axis=1))
    wide = cells.pivot(index=["contrast", "metric"], columns="mechanism", values="cell")
    pairs = [(c, m) for c in names for m in analysis.METRICS if (c, m) in wide.index]
    order = pd.MultiIndex.from_tuples(pairs, names=["contrast", "metric"])
    wide = wide.reindex(index=order, columns=_order(set(wide.columns))).fillna("–").reset_index()
    wide["metric"] = wide["metric"].map(analysis.METRICS)
    wide.columns.name = None
    return wide


LEGEND = ("Points, first minus second; each cell: the mean of family means, its 95% t-interval over "
          "the mechanism's families (F - 1 degrees of freedom) and F; descriptive (uncorrected, not a "
          f"claim of the hierarchy), and an interval from fewer than {MIN_CLUSTERS} families is not called.")
