"""The generator contract: `Sample`, the `Generator` base class and parameter checks.

A generator family draws labelled samples at any shift level in [0, 1]: 0 is the training
distribution, 1 the most extreme shift the family defines. Families whose densities are known
also expose the true posterior, which the `bayes_oracle` / `invariant_oracle` reference models
predict with, and closed-form oracle accuracies where they exist.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from spurbench.errors import ParameterError

ROLES = ("core", "spurious", "noise")
MAX_COUNT = 10_000
MAX_SEED = 2**32 - 1
SPLITS = ("train", "validation", "test")


class _OnFirstRead:
    """A dataclass field that may be given as a zero-argument callable, called (once) on first read.

    Why: the counterfactual copy of X is scored on test samples only; a training or validation
    sample that is never asked for it does not pay for a full copy of X.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return None  # the field's default
        value = obj.__dict__[self.slot]
        if callable(value):
            value = obj.__dict__[self.slot] = value()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.slot] = value


@dataclass
class Sample:
    """A labelled sample and everything the metrics need to know about how it was made.

    Attributes
    ----------
    X : (n, d) float array; NaN marks a missing feature.
    y : (n,) int array of class labels 0..n_classes-1.
    roles : per feature, one of ``ROLES``.
    attr : (n,) int array, the spurious attribute, where the family has one.
    group : (n,) int array, the group (y, attr) as one id, for worst-group accuracy.
    X_counterfactual : X with the spurious attribute flipped and everything else equal; a family
        may pass a zero-argument callable instead, computed on first read.
    """

    X: np.ndarray
    y: np.ndarray
    roles: tuple[str, ...]
    attr: np.ndarray | None = None
    group: np.ndarray | None = None
    X_counterfactual: np.ndarray | Callable[[], np.ndarray] | None = _OnFirstRead()  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n, d = self.X.shape
        if len(self.roles) != d or len(self.y) != n:
            raise ValueError(f"sample shapes disagree: X {self.X.shape}, y {self.y.shape}, "
                             f"{len(self.roles)} roles")
        if any(r not in ROLES for r in self.roles):
            raise ValueError(f"roles must be among {ROLES}, got {set(self.roles)}")

    @property
    def core_columns(self) -> np.ndarray:
        """Indices of the core features."""
        return np.flatnonzero(np.asarray(self.roles) == "core")

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Structure:
    """The DAG and state counts of a discrete family, never its parameters: what a model with a
    known structure (`bn_known_structure`) is told before it fits.

    Nodes 0..d-1 are the feature columns of X, node d is the label. Feature j takes the integer
    codes 0..cardinalities[j]-1; the label its classes 0..cardinalities[d]-1.

    Attributes
    ----------
    parents : per node, the indices of its parents.
    cardinalities : per node, its number of states.
    """

    parents: tuple[tuple[int, ...], ...]
    cardinalities: tuple[int, ...]

    def restrict(self, columns: Sequence[int]) -> Structure:
        """The sub-DAG induced on `columns` (in that order) and the label: what a refit on those
        columns is told. Edges from a dropped node are dropped, so it is the true structure only
        where the dropped nodes are barren (their descendants are dropped too)."""
        label = len(self.parents) - 1
        keep = [int(c) for c in columns] + [label]
        new = {old: i for i, old in enumerate(keep)}
        return Structure(tuple(tuple(new[p] for p in self.parents[v] if p in new) for v in keep),
                         tuple(self.cardinalities[v] for v in keep))


class Generator(abc.ABC):
    """Base class of every generator family; subclasses validate their parameters in `__init__`.

    Subclasses must set ``self.n_classes`` and implement `sample`; the oracle methods return None
    where the family cannot compute them (for instance families built on real data).
    """

    family: ClassVar[str] = ""
    n_classes: int = 2
    # True where only the class prior moves: the harness then also scores models tagged
    # `prior_shift` after EM prior adaptation, as `<model>+em`.
    prior_adaptation: ClassVar[bool] = False
    # (height, width) when a row is an image flattened row by row (for `spurbench sample`).
    image_shape: ClassVar[tuple[int, int] | None] = None
    # Declared traits, read by the report's analysis of where each paradigm wins: where the data
    # come from ("synthetic", "real table" or "network": an expert Bayesian network, where a
    # generative model with the known structure is correctly specified), and whether every
    # feature is discrete.
    source: ClassVar[str] = "synthetic"
    discrete: ClassVar[bool] = False

    @abc.abstractmethod
    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        """Draw `n` labelled examples at shift level `shift`.

        `split` ("train", "validation" or "test") matters only to families built on a fixed pool
        of real rows, which must never draw a test row into training nor a training row into the
        validation sample that judges and selects the fit; synthetic families ignore it.
        """

    def resplit(self, rng: np.random.Generator) -> Generator:
        """This family with its real rows split afresh into train and test pools by `rng`.

        The harness calls it once per seed, so that seeds of a real-data scenario train on
        different rows (a fixed split would make every seed's intervals zero-width). Synthetic
        families have no pool and return themselves.
        """
        return self

    @classmethod
    def data_family(cls, params: Mapping[str, Any]) -> str:
        """The independent data-generating process a scenario with `params` draws from: the value
        of its rows' `family` column, the unit every cross-family estimate weighs and resamples.

        A synthetic mechanism is one process whatever its parameters (the registered name); a
        family over several real tables or networks overrides this to name the table or network,
        since two tables are two processes and two shift mechanisms on one table are one.
        """
        return cls.family

    @classmethod
    def resolve_params(cls, params: dict[str, Any], spec_dir: Any) -> dict[str, Any]:
        """`params` as read from a spec file in folder `spec_dir`; a family that names files in its
        parameters resolves relative ones there. Most families have none."""
        return params

    def check_sizes(self, n_train: int, n_test: int) -> None:
        """Raise ParameterError (naming ``n_train`` or ``n_test``) when the family cannot draw
        samples of these sizes; checked when a spec is loaded. Synthetic families draw any size."""
        return None

    def validation_size(self, n: int) -> int:
        """Rows of the validation sample when `n` are wanted: `n`, or fewer where a finite
        validation pool cannot supply `n` distinct rows (a real table's; see `_real`)."""
        return n

    def provenance(self) -> dict[str, Any]:
        """Where a family's real data come from (source, licence, content hash), for run.json;
        empty for synthetic families."""
        return {}

    @classmethod
    def knows_posterior(cls) -> bool:
        """Whether the family's densities are known (it overrides `posterior`): the oracles run,
        and no core-only refit is needed for the invariant reference."""
        return cls.posterior is not Generator.posterior

    def bayes_accuracy(self, shift: float) -> float | None:
        """Exact accuracy of the Bayes-optimal classifier at `shift`, when known."""
        return None

    def invariant_accuracy(self, shift: float) -> float | None:
        """Exact best accuracy from the core features alone at `shift`, when known."""
        return None

    def structure(self) -> Structure | None:
        """The DAG and state counts of a discrete family (see `Structure`), None for others.
        Models that define `set_structure` receive it before they fit."""
        return None

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray | None:
        """True P(y | x) under the distribution at `shift`, (n, n_classes); None if unknown."""
        return None

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray | None:
        """True P(y | core features of x) at `shift`, (n, n_classes); None if unknown."""
        return None


# ---- parameter checks: each raises ParameterError naming the field and what is allowed ----

def check_probability(name: str, value: Any, *, open_interval: bool = False) -> float:
    """A float in [0, 1] (or (0, 1) when `open_interval`)."""
    v = check_real(name, value)
    if open_interval and not 0.0 < v < 1.0:
        raise ParameterError(name, f"must be strictly between 0 and 1, got {value!r}")
    if not 0.0 <= v <= 1.0:
        raise ParameterError(name, f"must be between 0 and 1, got {value!r}")
    return v


def check_real(name: str, value: Any, *, minimum: float | None = None,
               exclusive_minimum: bool = False, maximum: float | None = None) -> float:
    """A finite real number, optionally bounded."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(name, f"must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ParameterError(name, f"must be finite, got {value!r}")
    if minimum is not None and (v < minimum or (exclusive_minimum and v == minimum)):
        bound = ">" if exclusive_minimum else ">="
        raise ParameterError(name, f"must be {bound} {minimum}, got {value!r}")
    if maximum is not None and v > maximum:
        raise ParameterError(name, f"must be <= {maximum}, got {value!r}")
    return v


def check_int(name: str, value: Any, *, minimum: int = 0, maximum: int | None = MAX_COUNT) -> int:
    """An integer >= `minimum` and <= `maximum` (by default `MAX_COUNT`: counts of features,
    classes or copies; a typo such as 10**9 must not allocate memory before it is refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ParameterError(name, f"must be an integer, got {value!r}")
    if value < minimum:
        raise ParameterError(name, f"must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ParameterError(name, f"must be an integer <= {maximum}, got {value!r}")
    return int(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of `choices`."""
    if value not in choices:
        raise ParameterError(name, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_shift(shift: Any) -> float:
    """A shift level in [0, 1]."""
    return check_probability("shift", shift)


def interpolate(start: float, end: float, shift: float) -> float:
    """The value a linearly-shifted quantity takes at `shift` (start at 0, end at 1)."""
    return start + check_shift(shift) * (end - start)


# ---- the spurious attribute, shared by every family that has one ----

def agreement(train_correlation: float, shift: float) -> float:
    """P(a = y) at `shift`: `train_correlation` at 0, reversed (1 - it) at 1, linear between."""
    return interpolate(train_correlation, 1.0 - train_correlation, shift)


def draw_attribute(y: np.ndarray, rho: float, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """An attribute equal to y with probability `rho`, otherwise uniform over the other classes."""
    agrees = rng.random(len(y)) < rho
    if n_classes == 2:  # the other class is 1 - y; integers(1, 2) would draw nothing from `rng`
        return np.asarray(y, dtype=np.int64) ^ ~agrees
    offset = rng.integers(1, n_classes, size=len(y))  # 1..K-1: a class other than y
    return np.where(agrees, y, (y + offset) % n_classes).astype(np.int64)


def counterfactual_attribute(attr: np.ndarray, n_classes: int) -> np.ndarray:
    """The attribute each example would have had under the intervention: the next class, cyclically."""
    return (attr + 1) % n_classes
