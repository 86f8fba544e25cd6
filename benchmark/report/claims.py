"""Multiplicity control: a hierarchy of claims, each level Holm-corrected on its own.

The levels (SCIENCE.md), fixed before any number is read:

* **primary**: the paradigm contrast (discriminative - generative) on the three co-primary
  metrics, over the declared headline suite: three claims, corrected among themselves;
* **secondary**: the four group contrasts and the pre-registered pairs, on the same metrics;
* **exploratory**: everything else: best-of-side selections, sensitivity analyses and every
  paper experiment, corrected together.

Claims are values (`Claim`: an interval, its units, its p-value and its level). A rule that wants
to call a difference clear asks a `Verdicts` (with the claim's level) instead of reading its
interval. The renderer analyses each experiment once; report.md's claims are read off its effects
table and each experiment's off a dry run of its writer (`Recorder`); `correct` Holm-adjusts each
level's claims together, once, with no state kept anywhere; the `Corrected` result then answers
every claim, by value, while the documents are written. A claim the correction did not see is
never called clear; outside a report (`UNCORRECTED`) each claim faces `ALPHA` on its own.

Two further rules hold whatever the p-value: an interval from fewer than `MIN_CLUSTERS`
independent units (seeds, scenarios or families, whichever the claim replicates over) is never
called clear, and a claim without an interval (no spread, one value) is not a claim at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower

ALPHA = 0.05
MIN_CLUSTERS = 3
METHOD = "holm"
# The pre-registered effect size of a published claim unless its experiment states another (two
# accuracy points): the claim is of a difference at least this large, and a "not detected"
# verdict states its design's power for it.
REFERENCE_EFFECT = 0.02
FEW_CLUSTERS = f"fewer than {MIN_CLUSTERS} independent units, never called clear"


def p_from_interval(low: float, high: float, n: int, level: float = 0.95) -> float:
    """Two-sided p-value of "mean = 0" from a symmetric t-interval over `n` units (df n - 1)."""
    dof = max(n - 1, 1)
    half = (high - low) / 2
    if not half > 0:
        return np.nan
    se = half / stats.t.ppf(0.5 + level / 2, dof)
    return float(2 * stats.t.sf(abs((low + high) / 2) / se, dof))


def power(low: float, high: float, n: int, effect: float = REFERENCE_EFFECT, alpha: float = ALPHA) -> float:
    """Power of the paired t-test behind a 95% interval over `n` units to detect `effect`.

    The interval's half-width gives the standard error, hence the observed standard deviation
    (se * sqrt(n)); statsmodels' `TTestPower` does the rest at level `alpha` (by default `ALPHA`,
    uncorrected, so an upper bound on the power after the joint correction; `Corrected.alpha`
    gives a lower bound).
    """
    dof = max(n - 1, 1)
    se = (high - low) / 2 / stats.t.ppf(0.975, dof)
    if not (se > 0 and n >= 2):
        return np.nan
    size = effect / (se * np.sqrt(n))
    value = TTestPower().power(effect_size=size, nobs=n, alpha=alpha)
    if np.isfinite(value):
        return float(value)
    # scipy's non-central t returns NaN far in the tail (huge effect sizes): the normal
    # approximation is exact enough there.
    z = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf(abs(size) * np.sqrt(n) - z) + stats.norm.cdf(-abs(size) * np.sqrt(n) - z))


PRIMARY, SECONDARY, EXPLORATORY = "primary", "secondary", "exploratory"
LEVELS = (PRIMARY, SECONDARY, EXPLORATORY)
# How many claims the primary level holds, fixed before the run: the paradigm contrast on the
# three co-primary metrics. Its corrected level is known before any claim is asked.
PRIMARY_CLAIMS = 3


def detectable(low: float, high: float, n: int, alpha: float = ALPHA) -> float:
    """The smallest difference a two-sided t-test at level `alpha` over `n` units with this
    interval's standard error detects with 80% power (the design's resolution at that level)."""
    dof = max(n - 1, 1)
    se = (high - low) / 2 / stats.t.ppf(0.975, dof)
    return float(se * (stats.t.ppf(1 - alpha / 2, dof) + stats.t.ppf(0.8, dof)))


def units_for(target: float, low: float, high: float, n: int, alpha: float = ALPHA,
              most: int = 10_000) -> int | None:
    """How many units (families) a design with this interval's spread needs for `detectable` to
    reach `target`: the smallest m with (t(1 - alpha/2, m-1) + t(0.8, m-1)) * sd / sqrt(m) <= target,
    where sd = se * sqrt(n) is the observed spread of one unit; None beyond `most`."""
    dof = max(n - 1, 1)
    sd = (high - low) / 2 / stats.t.ppf(0.975, dof) * np.sqrt(n)
    if not sd > 0:
        return None
    for m in range(2, most + 1):
        if (stats.t.ppf(1 - alpha / 2, m - 1) + stats.t.ppf(0.8, m - 1)) * sd / np.sqrt(m) <= target:
            return m
    return None


@dataclass(frozen=True)
class Claim:
    """One test of the hierarchy, as a value: a 95% interval over `n` independent units, its
    two-sided p-value of "difference = 0" and its level (`LEVELS`). Whether it is clear is known
    only once every claim of its level is collected and corrected (`correct`)."""

    low: float
    high: float
    n: int
    p_value: float
    level: str = EXPLORATORY

    @classmethod
    def of(cls, low: float, high: float, n: int, p_value: float | None = None,
           level: str = EXPLORATORY) -> Claim | None:
        """The claim an interval makes, or None when it makes none: no finite interval, fewer than
        `MIN_CLUSTERS` units or no finite p-value (derived from the interval unless given)."""
        if not (np.isfinite(low) and np.isfinite(high)) or n < MIN_CLUSTERS:
            return None
        p = p_from_interval(low, high, n) if p_value is None else p_value
        return cls(float(low), float(high), int(n), float(p), level) if np.isfinite(p) else None

    @property
    def direction(self) -> int:
        """The side of 0 the interval's centre is on (+1, -1; 0 on it)."""
        return int(np.sign(self.low + self.high))


@dataclass(frozen=True)
class Corrected:
    """Claims after each level's Holm correction: their adjusted p-values (None: uncorrected, each
    claim faces `ALPHA` on its own) and how many claims each level holds."""

    adjusted: dict[Claim, float] | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))

    def clear(self, claim: Claim | None) -> bool:
        """Whether `claim` is significant at its level; a claim not corrected here never is."""
        if claim is None:
            return False
        if self.adjusted is None:
            return claim.p_value < ALPHA
        adjusted = self.adjusted.get(claim)
        return adjusted is not None and bool(adjusted < ALPHA)

    def sign(self, claim: Claim | None) -> int:
        """+1 (clearly above 0), -1 (clearly below) or 0 after the correction."""
        return claim.direction if claim is not None and self.clear(claim) else 0

    def decide(self, low: float, high: float, n: int, p_value: float | None = None,
               level: str = EXPLORATORY) -> int:
        """`sign` of the claim the interval makes (0 when it makes none)."""
        return self.sign(Claim.of(low, high, n, p_value, level))

    def alpha(self, level: str = EXPLORATORY) -> float:
        """The level a claim of `level` faces at least: Bonferroni's `ALPHA` / (claims of that
        level) (Holm's step-down never asks more of a claim). The primary level's size is fixed in
        advance (`PRIMARY_CLAIMS`); uncorrected, `ALPHA`."""
        if level == PRIMARY:
            return ALPHA / PRIMARY_CLAIMS
        return ALPHA / max(self.counts[level], 1) if self.adjusted is not None else ALPHA

    def n_claims(self, level: str | None = None) -> int:
        """Claims corrected at `level` (all levels when None)."""
        return sum(self.counts.values()) if level is None else self.counts[level]


UNCORRECTED = Corrected()


class Verdicts(Protocol):
    """What a rule asks of the correction: a claim's decision and the corrected level. A
    `Recorder` collects the claims (answering uncorrected); a `Corrected` answers."""

    def decide(self, low: float, high: float, n: int, p_value: float | None = None,
               level: str = EXPLORATORY) -> int: ...

    def alpha(self, level: str = EXPLORATORY) -> float: ...


@dataclass
class Recorder:
    """The claims a section's writer makes, collected in a dry run (each answered uncorrected; the
    text of that run is discarded)."""

    claims: list[Claim] = field(default_factory=list)

    def decide(self, low: float, high: float, n: int, p_value: float | None = None,
               level: str = EXPLORATORY) -> int:
        """Record the claim the interval makes and answer it uncorrected."""
        claim = Claim.of(low, high, n, p_value, level)
        if claim is not None:
            self.claims.append(claim)
        return UNCORRECTED.sign(claim)

    def alpha(self, level: str = EXPLORATORY) -> float:
        """`ALPHA` (the primary level's fixed share): nothing is corrected yet."""
        return UNCORRECTED.alpha(level)


def correct(claims: Iterable[Claim | None]) -> Corrected:
    """Holm-adjust the p-values of each level's claims together (None entries make no claim).
    Equal claims get equal adjusted p-values (Holm's step-down ties them), so a claim is its own key."""
    by_level: dict[str, list[Claim]] = {level: [] for level in LEVELS}
    for claim in claims:
        if claim is not None:
            by_level[claim.level].append(claim)
    adjusted: dict[Claim, float] = {}
    for members in by_level.values():
        if members:
            values = multipletests([c.p_value for c in members], ALPHA, METHOD)[1]
            adjusted.update(zip(members, map(float, values), strict=True))
    return Corrected(adjusted, {level: len(members) for level, members in by_level.items()})


# What `paper_outcome` finds for a published claim.
REPRODUCED, OPPOSITE, SMALLER, NOT_DETECTED, UNTESTED = (
    "reproduced", "contradicted: the other way", "contradicted: smaller", "not detected", "untested")


def paper_outcome(low: float, high: float, n: int, expected: int, effect: float = REFERENCE_EFFECT,
                  verdicts: Verdicts = UNCORRECTED) -> str:
    """The outcome of a published claim of a difference of at least `effect` in the direction
    `expected` (+1 or -1), from its 95% interval over `n` units.

    Two tests, both asked of `verdicts` every time (so the joint Holm correction covers both): the
    difference against 0, and against `expected * effect`. After the correction:

    * `OPPOSITE` (contradicted) when the difference is clearly on the other side of 0;
    * `SMALLER` (contradicted) when it is clearly short of `expected * effect`: a real effect in
      the claimed direction may exist, but the claim of one at least `effect` large is refuted;
    * `REPRODUCED` when it is clearly on the claimed side of 0 (and not clearly short of `effect`);
    * `NOT_DETECTED` otherwise: neither test is clear after the correction (the sentence states
      the design's power for `effect` at `Corrected.alpha`);
    * `UNTESTED` without an interval or with fewer than `MIN_CLUSTERS` units (nothing is asked).
    """
    if not (np.isfinite(low) and np.isfinite(high)) or n < MIN_CLUSTERS:
        return UNTESTED
    sign = verdicts.decide(low, high, n)
    short = verdicts.decide(low - expected * effect, high - expected * effect, n)
    if sign == -expected:
        return OPPOSITE
    if short == -expected:
        return SMALLER
    return REPRODUCED if sign == expected else NOT_DETECTED


def correction_note(corrected: Corrected) -> str:
    """The sentence each document states its correction with."""
    counts = ", ".join(f"{level} {corrected.n_claims(level)}" for level in LEVELS)
    return (f"Every \"clear\" call in report.md and experiments.md is Holm-corrected within its level "
            f"of the hierarchy of claims (family-wise level {ALPHA:g} per level; claims: {counts}): "
            "primary, the paradigm contrast on the three co-primary metrics over the headline suite; "
            "secondary, the group contrasts and the pre-registered pairs; exploratory, best-of-side "
            "selections, sensitivity analyses and the paper experiments. An interval from fewer than "
            f"{MIN_CLUSTERS} independent units (seeds, scenarios or families, whichever the claim "
            "replicates over) is never called clear.")
