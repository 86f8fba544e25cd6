"""What this run shows": sentences written from the numbers by fixed rules, never by hand.

Each rule reads one table and states what it shows. The effects table's lines are claims held as
values (`effect_claims`); whether one is called clear is read from their joint Holm correction with
every claim of experiments.md (`claims.Corrected`, passed in once known), never from fewer than
three independent units; a difference that is not clear states the power the design had for a
two-point difference.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from spurbench.registry import PANEL
from spurbench.report import analysis, claims
from spurbench.report.prepare import ADAPTED_SUFFIX, EXCLUDED_FLAGS


def preregistration() -> list[str]:
    """The comparisons fixed before any number: stated first in report.md."""
    pairs = "; ".join(f"`{c.plus}` vs `{c.minus}` ({c.why})" for c in analysis.PREREGISTERED_PAIRS)
    groups = ", ".join(f"`{c.plus}` vs `{c.minus}`" for c in analysis.GROUP_CONTRASTS)
    return [
        "Pre-registered comparisons (fixed in code before the run; every difference is the first "
        "minus the second): the paradigms (discriminative vs generative); the groups " + groups
        + "; and the model pairs " + pairs + ".",
        "",
        "Definitions: the **drop** of a fit is its accuracy at shift 0 minus its accuracy at a shifted "
        "level, averaged over the scenario's shifted levels (positive: it loses accuracy under shift); "
        "accuracy and worst-group accuracy at the scenario's largest shift are co-primary with it. Each "
        "(scenario, seed) gives one difference; families weigh equally, and scenarios equally within "
        "a family: the estimate is the mean of the family means, with a 95% t-interval over family "
        "means on families - 1 degrees of freedom (a line that names another method had one family). "
        "Beside it: the range of the estimate with each family left out, and, for the paradigm "
        "contrast, a mixed model with family and scenario-in-family random effects as a sensitivity "
        "analysis. Claims form a hierarchy, each level Holm-corrected on its own: primary (the "
        "paradigm contrast on the three metrics), secondary (group contrasts, pre-registered pairs), "
        "exploratory (best-of-side, sensitivity analyses, experiments). Paradigm and "
        f"group averages read the {len(PANEL)}-model panel only (no reference models, oracles or "
        "test-set-adapted `+em` variants) and "
        f"exclude fits flagged {' or '.join(f'`{f}`' for f in EXCLUDED_FLAGS)}; a sensitivity "
        "analysis includes them. \"Best\" of a paradigm or group is chosen per scenario on validation "
        "accuracy (a separate sample of the training distribution), never on test draws.",
    ]


# The resolution the headline aims for: a primary line that resolves less says how many families
# (the units that limit the design) would reach it.
RESOLUTION_TARGET = 0.03


def level_of(row: object) -> str:
    """Where a line of the effects table sits in the hierarchy of claims (`claims.LEVELS`)."""
    if row.selection != "panel" or row.flagged != "excluded":
        return claims.EXPLORATORY  # best-of-side selections and sensitivity analyses
    return claims.PRIMARY if row.contrast == analysis.PARADIGM.name else claims.SECONDARY


def claim_of(row: object) -> claims.Claim | None:
    """The claim a line of the effects table makes (None: too few units or no interval)."""
    return claims.Claim.of(row.ci_low, row.ci_high, int(row.clusters), row.p_value, level_of(row))


def judged(row: object, metric: str, corrected: claims.Corrected = claims.UNCORRECTED) -> str:
    """An estimate with its interval, how it was estimated, the leave-one-family-out range, and
    whether it is clear at its level of the hierarchy after `corrected` (else the smallest
    difference the design detects with 80% power at that level)."""
    level = level_of(row)
    method = "" if row.method == analysis.FAMILY_T else f"{row.method}, "
    text = (f"{100 * row.estimate:+.2f} points (95% CI {100 * row.ci_low:+.2f} to {100 * row.ci_high:+.2f}; "
            f"{method}{row.n_scenarios} scenarios in {row.n_families} families")
    if np.isfinite(row.lofo_low):
        text += f"; leaving one family out {100 * row.lofo_low:+.2f} to {100 * row.lofo_high:+.2f}"
    text += ")"
    sign = corrected.sign(claim_of(row))
    first, second = row.contrast.split(" - ")
    more = "drops more" if metric == "drop" else "is more accurate"
    alpha = corrected.alpha(level)
    if sign:
        text = f"{text}: clearly ({level}), `{first if sign > 0 else second}` {more}"
        if level == claims.PRIMARY:  # the design's resolution is part of every primary answer
            smallest = 100 * claims.detectable(row.ci_low, row.ci_high, int(row.clusters), alpha)
            text += f"; the design detects {smallest:.1f} points with 80% power at the primary level"
        return text
    if row.clusters < claims.MIN_CLUSTERS:
        return f"{text}: not clear ({claims.FEW_CLUSTERS})"
    smallest = 100 * claims.detectable(row.ci_low, row.ci_high, int(row.clusters), alpha)
    why = f" after the {level} level's Holm correction" if row.ci_low > 0 or row.ci_high < 0 else ""
    text = (f"{text}: no clear difference{why}; the design detects {smallest:.1f} points with 80% power "
            f"at the {level} level (alpha {alpha:.3g})")
    if level == claims.PRIMARY and smallest > 100 * RESOLUTION_TARGET and row.method == analysis.FAMILY_T:
        needed = claims.units_for(RESOLUTION_TARGET, row.ci_low, row.ci_high, int(row.clusters), alpha)
        text += (f"; {100 * RESOLUTION_TARGET:.0f} points would need about {needed} families at this "
                 "spread between families" if needed else "")
    return text


def _shown(effects: pd.DataFrame) -> Iterator[tuple[str, str, object | None]]:
    """The effects table as report.md shows it: per contrast its heading (row None), then each
    judged line's lead-in and row: drop first, then the co-primaries, best-of, sensitivity."""
    finite = effects.dropna(subset=["ci_low", "ci_high"])
    for contrast, part in finite.groupby("contrast", sort=False):
        yield contrast, "", None
        main = part[(part["selection"] == "panel") & (part["flagged"] == "excluded")]
        for row in main.itertuples(index=False):
            yield contrast, f"{analysis.METRICS[row.metric]}", row
        for row in part[part["selection"] == "mixed model"].itertuples(index=False):
            yield contrast, f"sensitivity, {analysis.METRICS[row.metric]}", row
        for row in part[part["selection"] == "best on validation"].itertuples(index=False):
            yield contrast, (f"best of each side (chosen on validation accuracy), "
                             f"{analysis.METRICS[row.metric]}"), row
        for row in part[part["flagged"] == "included"].itertuples(index=False):
            yield contrast, "sensitivity, flagged fits included, drop", row


def effect_claims(effects: pd.DataFrame) -> list[claims.Claim | None]:
    """The claims of every line `effect_lines` judges (None where a line makes none)."""
    return [claim_of(row) for _, _, row in _shown(effects) if row is not None]


def effect_lines(effects: pd.DataFrame, corrected: claims.Corrected = claims.UNCORRECTED) -> list[str]:
    """Markdown bullets on each contrast, each line judged after `corrected`."""
    return [f"- **{contrast}**:" if row is None else f"  - {lead}: {judged(row, row.metric, corrected)}."
            for contrast, lead, row in _shown(effects)]


def exclusion_sentences(table: pd.DataFrame) -> list[str]:
    """How many panel rows the exclusion rule drops, per model."""
    excluded = table[table["flag"].isin(EXCLUDED_FLAGS)]
    if table.empty:
        return ["No panel fit is flagged."]
    per_model = excluded.groupby("model")["rows_excluded"].first()
    listed = ", ".join(f"`{m}` {n}" for m, n in per_model.items()) or "none"
    others = table[~table["flag"].isin(EXCLUDED_FLAGS)]
    kept = ", ".join(f"`{r.model}` {r.fits} {r.flag}" for r in others.itertuples()) or "none"
    return [f"The exclusion rule drops {int(per_model.sum())} panel rows ({listed}); flagged fits "
            f"kept in the averages: {kept}."]


def best_model_sentences(by_scenario: pd.DataFrame) -> list[str]:
    """Who is best in and out of distribution, and who drops least and most.

    Base learners only (no oracles, no `+em` variants), averaged over the shifted scenarios where
    every one of them has a result, so every model is judged on the same scenarios.
    """
    rows = by_scenario[(by_scenario["paradigm"] != "oracle")
                       & ~by_scenario["model"].str.contains(ADAPTED_SUFFIX, regex=False)]
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


def robustness_sentences(robust: pd.DataFrame, counted: Collection[str]) -> list[str]:
    """The panel learner most above the accuracy-on-the-line trend: of the models in `counted`
    (those `prepare.panel` lets into an average; reference rows, which may see group labels or the
    test set, are in the table, not in this sentence; without panel models, any learner)."""
    learners = robust[robust["paradigm"] != "oracle"].dropna(subset=["effective_robustness"])
    if learners["model"].isin(counted).any():
        learners = learners[learners["model"].isin(counted)]
    if learners.empty:
        return []
    best = learners.sort_values("effective_robustness", ascending=False, kind="stable").iloc[0]
    return [
        f"Of the panel, `{best.model}` has the highest effective robustness at the largest shift "
        f"({best.effective_robustness:+.3f} accuracy above the line through the panel, mean over "
        f"{best.scenarios} scenario(s))."
    ]


def failure_sentences(failures: pd.DataFrame, n_fits: int) -> list[str]:
    """How many fits failed (they are excluded from every statistic)."""
    failed = int(failures["failed_fits"].sum())
    if failed == 0:
        return [f"All {n_fits} fits succeeded."]
    return [f"{failed} of {n_fits} fits failed and are excluded from every statistic (listed below)."]


def summary(by_name: dict[str, pd.DataFrame], n_fits: int, counted: Collection[str],
            corrected: claims.Corrected = claims.UNCORRECTED) -> list[str]:
    """Every rule's output as Markdown bullets, from the report's tables (by table name), the
    effects judged after `corrected` and the panel read as `counted` (`robustness_sentences`)."""
    sentences = (best_model_sentences(by_name["accuracy_by_scenario"])
                 + robustness_sentences(by_name["robustness"], counted)
                 + exclusion_sentences(by_name["exclusions"])
                 + failure_sentences(by_name["failures"], n_fits))
    return effect_lines(by_name["effects"], corrected) + [f"- {s}" for s in sentences]


# A primary line of report.md's Summary, as `judged` writes it.
_PRIMARY_LINE = re.compile(r"^- (?P<metric>[^:]+): (?P<estimate>[+-]?\d+\.\d+ points) \(95% CI (?P<ci>[^;]+);"
                           r"[^)]*?(?P<scenarios>\d+) scenarios in (?P<families>\d+) families[^)]*\): "
                           r"(?P<verdict>[^;]+)")


def headline(report_md: Path) -> list[str]:
    """The end of `spurbench run` in a few lines: the primary estimates of report.md's Summary,
    each with its interval and verdict, and how many scenarios and families they rest on. Read
    back from report.md, so the console says what the report says (Holm-corrected once)."""
    sections = Path(report_md).read_text().split("\n## ", 2) if Path(report_md).exists() else []
    lines = sections[1].splitlines() if len(sections) > 1 else []  # the Summary, report.md's first section
    found = [m for m in map(_PRIMARY_LINE.match, lines) if m]
    if not found:
        return ["headline: no primary estimate in this run (too few headline families or fits; "
                "report.md's Summary says why)"]
    first = found[0]
    return [f"headline (discriminative minus generative, panel fits; {first['scenarios']} scenarios in "
            f"{first['families']} families):",
            *(f"  {m['metric']}: {m['estimate']} (95% CI {m['ci']}): "
              f"{m['verdict'].replace('`', '').rstrip('.')}" for m in found)]
