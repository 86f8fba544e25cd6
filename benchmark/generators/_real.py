"""Shared machinery of the families built on real bundled data (no registration here).

Real rows are finite, so a family must never hand a test row to training, nor a training row to
the validation sample that flags and selects a fit (an interpolating model scores 1.0 on rows it
memorised, and would pass as healthy). `RowPool` splits the rows, with a seed, into three disjoint
pools, stratified by class: TEST (``test_fraction`` of each class), then VALIDATION
(`VALIDATION_FRACTION` of the rest, DomainBed's 20% held out of the training domains) and TRAIN
(the remainder). ``Generator.sample(..., split=...)`` draws from the pool it is told to: the
harness passes ``split="train"`` for the training draw, ``split="validation"`` for the validation
sample and ``split="test"`` for every test draw, at every shift level (shift 0 included, which is
why the split cannot be inferred from the shift). The validation sample is at most the validation
pool (`Generator.validation_size`), so it never repeats a row.

The harness splits the pool afresh for every seed (`Generator.resplit`, with a stream keyed by the
scenario and the seed): seeds of a real-data scenario then differ in which rows they train and test
on, which is the variation their intervals must describe. ``split_seed`` fixes the split outside
the harness (`spurbench sample`, `spurbench explain`, direct use).

A draw of n rows is stratified: the classes get n rows in proportion to their share of the pool
(largest remainder; every class at least one row once n reaches the number of classes, so a tiny
training set still holds every class). Within a class, rows are drawn WITHOUT replacement when the
pool has enough of them, with replacement (bootstrap) otherwise; n at most the pool size therefore
never repeats a row, and n equal to the pool size returns the whole pool (shuffled).

The spurious attribute a is the families' shared injection mechanism: a takes the same values as
y and agrees with it with probability rho(shift); a disagreeing a is uniform over the other
classes. Its counterfactual is ``(a + 1) mod n_classes`` (for two classes, the flip).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from sklearn import datasets
from spurbench.errors import ParameterError
from spurbench.generators.base import MAX_SEED, SPLITS, check_choice, check_int, check_probability

DEFAULT_TEST_FRACTION = 0.3
VALIDATION_FRACTION = 0.2  # of the non-test rows of each class
_LOADERS: dict[str, Callable[..., Any]] = {
    "digits": datasets.load_digits,
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
}


@cache
def load_table(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of a table bundled with scikit-learn (read from disk, no download).

    Cached: a family is instantiated for every spec check and every worker task.
    """
    X, y = _LOADERS[name](return_X_y=True)
    X, y = X.astype(np.float64), y.astype(np.int64)
    X.setflags(write=False)  # shared by every instance: nobody may modify it in place
    y.setflags(write=False)
    return X, y


def check_flag(name: str, value: Any) -> bool:
    """A TOML boolean (not a number or string that merely looks like one)."""
    if not isinstance(value, bool | np.bool_):
        raise ParameterError(name, f"must be true or false, got {value!r}")
    return bool(value)


def _allocate(n: int, counts: np.ndarray) -> np.ndarray:
    """Split n draws over classes in proportion to `counts` (largest remainder), none left empty
    once n >= the number of classes."""
    share = n * counts / counts.sum()
    alloc = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - alloc), kind="stable")
    alloc[order[: n - alloc.sum()]] += 1
    if n >= len(counts):
        for c in np.flatnonzero(alloc == 0):
            alloc[np.argmax(alloc)] -= 1
            alloc[c] = 1
    return alloc


class RowPool:
    """A seeded, stratified split of real rows into disjoint train, validation and test pools.

    Parameters
    ----------
    y : class label of every real row.
    test_fraction : share of each class held out for testing (at least one row each way).
    split_seed : seed of the split; the same seed always gives the same pools.
    rng : when given, the split is drawn from it instead (`resplit`: one split per seed).
    """

    def __init__(self, y: np.ndarray, test_fraction: float = DEFAULT_TEST_FRACTION,
                 split_seed: int = 0, rng: np.random.Generator | None = None):
        self.test_fraction = check_probability("test_fraction", test_fraction, open_interval=True)
        self.split_seed = check_int("split_seed", split_seed, minimum=0, maximum=MAX_SEED)
        self.y = np.asarray(y)
        rng = np.random.default_rng(self.split_seed) if rng is None else rng
        pools: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
        for c in np.unique(self.y):
            rows = rng.permutation(np.flatnonzero(self.y == c))
            k = min(max(round(self.test_fraction * len(rows)), 1), len(rows) - 1)
            rest = len(rows) - k  # validation takes a share of it, leaving training at least one row
            v = min(max(round(VALIDATION_FRACTION * rest), 1), rest - 1) if rest > 1 else 0
            pools["test"].append(rows[:k])
            pools["validation"].append(rows[k:k + v])
            pools["train"].append(rows[k + v:])
        self._rows = {split: np.sort(np.concatenate(parts)) for split, parts in pools.items()}

    def resplit(self, rng: np.random.Generator) -> RowPool:
        """A new split of the same rows, with the same test fraction, drawn from `rng`."""
        return RowPool(self.y, self.test_fraction, self.split_seed, rng)

    def rows(self, split: str) -> np.ndarray:
        """Indices (into the real table) of the rows in pool `split`, sorted."""
        return self._rows[check_choice("split", split, SPLITS)]

    def size(self, split: str) -> int:
        """Number of real rows in pool `split`."""
        return len(self.rows(split))

    def draw(self, n: int, split: str, rng: np.random.Generator) -> np.ndarray:
        """Indices of `n` rows from pool `split`, stratified by class, in random order."""
        n = check_int("n", n, minimum=1, maximum=None)
        pool = self.rows(split)
        classes, counts = np.unique(self.y[pool], return_counts=True)
        picked = []
        for c, k in zip(classes, _allocate(n, counts), strict=True):
            rows = pool[self.y[pool] == c]
            picked.append(rng.choice(rows, size=k, replace=k > len(rows)))
        return rng.permutation(np.concatenate(picked))


class PooledGenerator:
    """Mixin of the families that draw from a `RowPool` (attribute ``pool``): a fresh split per seed."""

    pool: RowPool

    def resplit(self, rng: np.random.Generator) -> PooledGenerator:
        """A shallow copy of this family whose pool is split afresh by `rng` (see Generator.resplit)."""
        other = copy.copy(self)
        other.pool = self.pool.resplit(rng)
        return other

    def validation_size(self, n: int) -> int:
        """At most the validation pool: the sample never repeats a row."""
        return min(n, self.pool.size("validation"))
