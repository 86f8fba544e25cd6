"""Oracle accuracies of a scenario at a shift level: closed forms, else a large Monte-Carlo sample.

Where a family has no closed form but knows its posterior, the Bayes and invariant accuracies are
the accuracies of the true posteriors on a dedicated sample of ``MC_DRAWS`` draws from the shifted
distribution, drawn from its own stream (keyed by the scenario's content and the level, never by
seed or model) and cached per process: every fit of a scenario reports the same numbers, and the
fit's own test sample (a few thousand rows) never stands in for the population. The standard
error sqrt(p (1 - p) / N) is stored beside each value (0 for a closed form), so that a reader can
check Bayes accuracy >= invariant accuracy - 4 SE on every row.
"""

from __future__ import annotations

import math

import numpy as np
from spurbench.generators.base import Generator
from spurbench.harness.seeding import rng_for

MC_DRAWS = 200_000
MC_CHUNK = 20_000  # draws per chunk: bounds memory for wide scenarios (500 noise features)

_CACHE: dict[tuple, dict[str, float | None]] = {}


def _monte_carlo(gen: Generator, level: float, rng: np.random.Generator) -> dict[str, float | None]:
    """Accuracies of the true and the core-only posteriors on MC_DRAWS fresh draws at `level`."""
    hits = {"bayes_accuracy": 0, "invariant_accuracy": 0}
    known = {"bayes_accuracy": True, "invariant_accuracy": True}
    for start in range(0, MC_DRAWS, MC_CHUNK):
        sample = gen.sample(min(MC_CHUNK, MC_DRAWS - start), level, rng, split="test")
        for column, posterior in (("bayes_accuracy", gen.posterior),
                                  ("invariant_accuracy", gen.invariant_posterior)):
            proba = posterior(sample.X, level) if known[column] else None
            if proba is None:
                known[column] = False
                continue
            hits[column] += int(np.sum(proba.argmax(axis=1) == sample.y))
    return {c: hits[c] / MC_DRAWS if known[c] else None for c in hits}


def oracle_accuracies(gen: Generator, scenario_hash: str, level: float,
                      run_seed: int = 0) -> dict[str, float | None]:
    """Bayes and invariant accuracy at `level`, each with its standard error (`<column>_se`).

    Parameters
    ----------
    gen : the scenario's generator.
    scenario_hash : the scenario's content hash: keys the Monte-Carlo stream and the cache.
    level : the shift level.
    run_seed : root of the run's random streams.

    Returns
    -------
    dict with ``bayes_accuracy``, ``invariant_accuracy`` and their ``_se``; None where the family
    knows neither a closed form nor its posterior (real data).
    """
    key = (run_seed, scenario_hash, float(level))
    if key in _CACHE:
        return _CACHE[key]
    exact = {"bayes_accuracy": gen.bayes_accuracy(level),
             "invariant_accuracy": gen.invariant_accuracy(level)}
    estimated = {}
    if any(v is None for v in exact.values()) and gen.knows_posterior():
        estimated = _monte_carlo(gen, level, rng_for(run_seed, scenario_hash, "oracle", float(level)))
    result: dict[str, float | None] = {}
    for column, value in exact.items():
        se = 0.0 if value is not None else None
        if value is None and estimated.get(column) is not None:
            value = estimated[column]
            se = math.sqrt(value * (1.0 - value) / MC_DRAWS)
        result[column], result[f"{column}_se"] = value, se
    _CACHE[key] = result
    return result
