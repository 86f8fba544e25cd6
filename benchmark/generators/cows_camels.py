"""`cows_camels`: Example2 ("cows and camels") of the linear unit tests of Aubin et al. (2021).

Source: B. Aubin, A. Slowik, M. Arjovsky, L. Bottou, D. Lopez-Paz, "Linear unit-tests for
invariance discovery" (ICML 2021 UDL workshop, arXiv:2102.10867); the construction follows
``Example2`` in ``scripts/datasets.py`` of github.com/facebookresearch/InvarianceUnitTests.

Each row is an animal c (cow = +1, camel = -1) on a background b (grass = +1, sand = -1), from
one of the training environments e, chosen uniformly. Environment e has a cow share s_e and a
background agreement p_e = P(b = c): published, p = (0.95, 0.97, 0.99) and s = (0.3, 0.5, 0.7)
for E0, E1, E2 (two environments use E0 and E1). Given (c, b):

* the ``dim_inv`` invariant features are (c + N(0, 1/10)) * ``foreground_scale`` each
  (published 0.01: the animal is 100 times fainter than the background);
* the ``dim_spu`` spurious features are (b + N(0, 1/10)) * ``background_scale`` each (1);
* the label is y = 1 if the invariant features sum to more than 0 (so y is the cow indicator
  except with probability Phi(-sqrt(10 dim_inv)), about 1e-12 at the published dim_inv = 5).

Shift. The paper tests on the same environments with the spurious block of every row replaced
by another row's (a random permutation), which makes the background independent of the animal.
Here the shift s is the share of test rows so treated: with probability s a row's background is
drawn afresh from its training marginal P(b), independently of c (the population limit of the
permutation); otherwise it is the training background. Shift 0 is the training mixture of
environments, shift 1 the paper's test environment, linear in between (`group_shares`).

Parameters
----------
dim_inv, dim_spu : widths of the invariant and spurious blocks (>= 1; published 5 and 5).
env_agreement : per training environment, the background agreement p_e = P(b = c), entries in
    [0, 1] (1 to 10 environments; published 0.95, 0.97, 0.99).
env_cow_share : per training environment, the cow share s_e, entries in [0, 1], as many as
    ``env_agreement`` (published 0.3, 0.5, 0.7).
foreground_scale : multiplies the invariant (animal) features (> 0; published 0.01).
background_scale : multiplies the spurious (background) features (> 0; published 1).

Oracles. The label is a function of the invariant features, so the true posterior is 0/1 (the
sign of their sum) with or without the spurious block, and the Bayes and invariant accuracies
are 1, exactly, at every shift: the unit test asks only whether a learner ignores the background.
``Sample.attr`` is the background (1 = grass, which goes with cows), the group 2 y + attr, and
the counterfactual moves the spurious block to the other background, noise kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np
from spurbench.errors import ParameterError
from spurbench.generators.base import (
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
    check_shift,
)
from spurbench.registry import register_generator

NOISE_SD = 1.0 / np.sqrt(10.0)  # the published within-group standard deviation
MAX_ENVIRONMENTS = 10


def check_environments(name: str, value: Any) -> np.ndarray:
    """A list of 1 to MAX_ENVIRONMENTS probabilities, one per environment."""
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_ENVIRONMENTS:
        raise ParameterError(name, f"must be a list of 1 to {MAX_ENVIRONMENTS} probabilities, one "
                                   f"per environment, got {value!r}")
    return np.array([check_probability(name, v) for v in value])


def _moved_background(X: np.ndarray, columns: slice, attr: np.ndarray, scale: float) -> np.ndarray:
    """X with the background flipped (grass <-> sand), noise kept."""
    X_cf = X.copy()
    X_cf[:, columns] -= (2.0 * attr - 1.0)[:, None] * 2.0 * scale
    return X_cf


@register_generator("cows_camels")
class CowsCamels(Generator):
    """Aubin et al.'s cows and camels: a faint invariant animal on a loud, spurious background."""

    def __init__(
        self,
        dim_inv: int = 5,
        dim_spu: int = 5,
        env_agreement: Sequence[float] = (0.95, 0.97, 0.99),
        env_cow_share: Sequence[float] = (0.3, 0.5, 0.7),
        foreground_scale: float = 0.01,
        background_scale: float = 1.0,
    ):
        self.dim_inv = check_int("dim_inv", dim_inv, minimum=1)
        self.dim_spu = check_int("dim_spu", dim_spu, minimum=1)
        self.env_agreement = check_environments("env_agreement", env_agreement)
        self.env_cow_share = check_environments("env_cow_share", env_cow_share)
        if len(self.env_cow_share) != len(self.env_agreement):
            raise ParameterError("env_cow_share", f"must have one entry per environment "
                                 f"({len(self.env_agreement)}, as env_agreement), got {env_cow_share!r}")
        self.foreground_scale = check_real("foreground_scale", foreground_scale, minimum=0,
                                           exclusive_minimum=True)
        self.background_scale = check_real("background_scale", background_scale, minimum=0,
                                           exclusive_minimum=True)
        self.n_classes = 2
        self.roles = ("core",) * self.dim_inv + ("spurious",) * self.dim_spu
        self._spurious = slice(self.dim_inv, self.dim_inv + self.dim_spu)

    def training_shares(self) -> np.ndarray:
        """(2, 2) P(cow, grass) in training, indexed [c, b] with 1 = cow / grass."""
        p, s = self.env_agreement, self.env_cow_share
        return np.array([[np.mean((1 - s) * p), np.mean((1 - s) * (1 - p))],
                         [np.mean(s * (1 - p)), np.mean(s * p)]])

    def group_shares(self, shift: float) -> np.ndarray:
        """P(group) at `shift`, indexed by 2 c + b: the training shares mixed, with weight shift,
        with the product of their marginals (the background shuffled)."""
        t, train = check_shift(shift), self.training_shares()
        shuffled = np.outer(train.sum(axis=1), train.sum(axis=0))
        return ((1.0 - t) * train + t * shuffled).ravel()

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        t = check_shift(shift)
        env = rng.integers(len(self.env_agreement), size=n)
        cow = (rng.random(n) < self.env_cow_share[env]).astype(np.int64)
        agrees = rng.random(n) < self.env_agreement[env]
        fresh = (rng.random(n) < self.training_shares()[:, 1].sum()).astype(np.int64)
        grass = np.where(rng.random(n) < t, fresh, np.where(agrees, cow, 1 - cow))
        X = rng.standard_normal((n, len(self.roles))) * NOISE_SD
        X[:, : self.dim_inv] += (2.0 * cow - 1.0)[:, None]
        X[:, : self.dim_inv] *= self.foreground_scale
        X[:, self._spurious] += (2.0 * grass - 1.0)[:, None]
        X[:, self._spurious] *= self.background_scale
        y = (X[:, : self.dim_inv].sum(axis=1) > 0).astype(np.int64)
        return Sample(X=X, y=y, roles=self.roles, attr=grass, group=2 * y + grass,
                      X_counterfactual=partial(_moved_background, X, self._spurious, grass,
                                               self.background_scale))

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.invariant_posterior(X, shift)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        positive = (X[:, : self.dim_inv].sum(axis=1) > 0).astype(float)
        return np.column_stack([1.0 - positive, positive])

    def bayes_accuracy(self, shift: float) -> float:
        return 1.0

    def invariant_accuracy(self, shift: float) -> float:
        return 1.0
