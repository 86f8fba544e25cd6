"""Seeds keyed by what a random draw is for, never by execution order.

Every stream is ``SeedSequence(run_seed, spawn_key=stable_hash(*purpose))``: the same purpose
gives the same numbers on any worker, in any order, on any backend.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers

import numpy as np


def _normal(part: object) -> object:
    """One spelling per value: numpy scalars become Python numbers, a whole float becomes an
    int (so `3`, `np.int64(3)` and `3.0` are one stream), sequences become lists."""
    if isinstance(part, bool | np.bool_):
        return bool(part)
    if isinstance(part, numbers.Integral):
        return int(part)
    if isinstance(part, numbers.Real):
        value = float(part)
        return int(value) if math.isfinite(value) and value.is_integer() else value
    if isinstance(part, list | tuple | np.ndarray):
        return [_normal(p) for p in part]
    if isinstance(part, dict):
        return {str(k): _normal(v) for k, v in part.items()}
    return part


def stable_hash(*parts: object) -> tuple[int, ...]:
    """Four 32-bit words of the SHA-256 of `parts` (normalised JSON, so stable across processes,
    runs and numeric types)."""
    text = json.dumps(_normal(parts), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def seed_sequence(run_seed: int, *purpose: object) -> np.random.SeedSequence:
    """The seed sequence of the stream for `purpose`, e.g. (scenario_hash, seed, "train", 200)."""
    return np.random.SeedSequence(run_seed, spawn_key=stable_hash(*purpose))


def rng_for(run_seed: int, *purpose: object) -> np.random.Generator:
    """A generator for `purpose` (see `seed_sequence`)."""
    return np.random.default_rng(seed_sequence(run_seed, *purpose))


def int_seed_for(run_seed: int, *purpose: object) -> int:
    """A 31-bit integer seed for `purpose`, for estimators that take `random_state=int`."""
    return int(seed_sequence(run_seed, *purpose).generate_state(1)[0] >> 1)
