"""`tabular_injection`: a real table bundled with scikit-learn plus injected spurious columns.

The real features of ``dataset`` ("breast_cancer": 30 features, 2 classes; "wine": 13 features,
3 classes) are the core features, in their original order. ``n_spurious`` Gaussian columns
follow them: an attribute a (same values as y) agrees with y with probability ``rho(shift)``

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (the correlation is reversed);
* linear in between; a disagreeing a is uniform over the other classes (so for two classes shift
  0.5 makes a independent of y; for wine independence is rho = 1/3, not shift 0.5),

and the spurious block is ``N(mean(a), I)`` with the attribute means on the all-ones direction,
adjacent attribute values ``spurious_separation`` apart (the Mahalanobis distance between them).
The counterfactual keeps the row and the Gaussian noise and moves the block to the mean of
``(a + 1) mod n_classes`` (for two classes: the other attribute value).

With ``n_spurious = 0`` this is the plain real-data family (no attribute, no counterfactual, the
shift changes nothing), used for learning curves on raw or standardised features.
``standardize`` rescales the real features to zero mean and unit variance with the statistics of
the TRAIN pool only (so the test rows leak nothing); the spurious block is unit-variance already.

Rows come from a fixed seeded split of the real rows (``split_seed``, ``test_fraction``): training
draws (``split="train"``) and test draws (``split="test"``) never share a row; see `_real` for how
rows are drawn (stratified; without replacement up to the pool size, bootstrap beyond it).
There is no Bayes oracle for real data: the oracle methods return None, and the harness's
invariant reference is the same model trained and tested on the core (real) columns alone.

Parameters
----------
dataset : "breast_cancer" or "wine".
n_spurious : injected spurious columns (>= 0; 0: the plain table).
train_correlation : P(a = y) in training, in [0, 1].
spurious_separation : distance between adjacent attribute means of the spurious block (>= 0).
standardize : rescale the real features to zero mean and unit variance with train-pool
    statistics.
split_seed : seed of the train / test split outside the harness, which splits afresh for every
    seed (`_real`).
test_fraction : share of each class held out for testing, in (0, 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from spurbench.evaluation.scaling import standardizer
from spurbench.generators._real import (
    DEFAULT_TEST_FRACTION,
    PooledGenerator,
    RowPool,
    check_flag,
    load_table,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_choice,
    check_int,
    check_probability,
    check_real,
    counterfactual_attribute,
    draw_attribute,
)
from spurbench.registry import register_generator

DATASETS = ("breast_cancer", "wine")


@register_generator("tabular_injection")
class TabularInjection(PooledGenerator, Generator):
    """A real bundled table (breast_cancer, wine) with injected spurious columns that reverse."""

    def __init__(
        self,
        dataset: str = "breast_cancer",
        n_spurious: int = 1,
        train_correlation: float = 0.9,
        spurious_separation: float = 2.0,
        standardize: bool = False,
        split_seed: int = 0,
        test_fraction: float = DEFAULT_TEST_FRACTION,
    ):
        self.dataset = check_choice("dataset", dataset, DATASETS)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=0)
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.spurious_separation = check_real("spurious_separation", spurious_separation, minimum=0)
        self.standardize = check_flag("standardize", standardize)
        X, self._y = load_table(self.dataset)
        self.pool = RowPool(self._y, test_fraction, split_seed)
        self.n_classes = int(self._y.max()) + 1
        self._core = self._standardized(X) if self.standardize else X
        self.roles = ("core",) * X.shape[1] + ("spurious",) * self.n_spurious

    source = "real table"

    @classmethod
    def data_family(cls, params: Mapping[str, Any]) -> str:
        """One family per real table: breast_cancer and wine are two processes."""
        return f"table:{params.get('dataset', 'breast_cancer')}"

    def _standardized(self, X: np.ndarray) -> np.ndarray:
        """Real features rescaled with the TRAIN pool's mean and standard deviation."""
        mean, scale = standardizer(X[self.pool.rows("train")])
        return (X - mean) / scale

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return agreement(self.train_correlation, shift)

    def _spurious_block(self, attr: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """The spurious columns of rows with attribute `attr` and unit Gaussian `noise`."""
        position = (attr - (self.n_classes - 1) / 2.0) * self.spurious_separation
        return noise + np.outer(position, np.full(self.n_spurious, 1.0 / np.sqrt(self.n_spurious)))

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        rho = self.agreement(shift)
        rows = self.pool.draw(n, split, rng)
        core, y = self._core[rows], self._y[rows]
        if not self.n_spurious:
            return Sample(X=core, y=y, roles=self.roles)
        attr = draw_attribute(y, rho, self.n_classes, rng)
        noise = rng.standard_normal((len(rows), self.n_spurious))
        X = np.hstack([core, self._spurious_block(attr, noise)])
        X_cf = np.hstack(
            [core, self._spurious_block(counterfactual_attribute(attr, self.n_classes), noise)]
        )
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=self.n_classes * y + attr,
                      X_counterfactual=X_cf)
