"""`many_shortcuts`: many weak shortcuts instead of one strong one.

The label y in {0, 1} is balanced. The ``n_core`` core features are N(-+core_separation/2 along
the all-ones direction, I) by y. Each of the ``n_shortcuts`` = k shortcut features is
one-dimensional, x_j ~ N(-+shortcut_separation/2, 1) by an attribute a_j in {0, 1}:

* ``attribute = "own"``: every shortcut has its own attribute; the a_j are independent given y,
  each equal to y with probability ``rho(shift)``;
* ``attribute = "shared"``: one attribute a, equal to y with probability ``rho(shift)``, moves
  every shortcut (the block is then one Gaussian shortcut with separation
  shortcut_separation sqrt(k)).

``rho(shift)`` is `base.agreement`: ``train_correlation`` at shift 0, reversed
(``1 - train_correlation``) at shift 1, linear between (shift 0.5: independent of y). Each
shortcut alone is weak (a small separation), but k of them together are strong: the question is
whether a model that would ignore one weak shortcut still adds up many, and what that costs when
every one of them reverses. ``n_noise`` features are N(0, 1), independent of everything.

Parameters
----------
train_correlation : P(a_j = y) in training, in [0, 1].
n_shortcuts : k >= 1.
shortcut_separation : the distance between a shortcut's two means (>= 0).
attribute : ``"own"`` or ``"shared"``.
n_core : width of the core block (>= 1).
core_separation : Mahalanobis distance between the class means of the core block (> 0).
n_noise : number of noise features (>= 0).

Attribute and groups. ``Sample.attr`` is the shared attribute, or for ``"own"`` the majority of
the a_j (a tie, for even k, goes to a_1), so it agrees with y with probability
``attribute_agreement(shift)`` (a binomial tail). The group is 2 y + attr. The counterfactual
flips every a_j (each shortcut moves to its other mean, noise kept), which flips attr too.

Oracles. Given y the shortcuts are independent ("own": each a two-component mixture,
rho N(m_y, 1) + (1 - rho) N(m_{1-y}, 1)) or a mixture over the shared a, so `posterior` is exact.
The core-only accuracy is Phi(core_separation / 2); the Bayes accuracy is exact by 1-D quadrature
for ``"shared"`` (`_synthetic.binary_spurious_gaussian_accuracy`) and None for ``"own"`` (a sum of
k non-Gaussian log-likelihood ratios: the oracle rows give a Monte-Carlo value).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import special, stats
from spurbench.generators._shortcut import block_log_likelihood, block_means
from spurbench.generators._synthetic import (
    attribute_log_mixture,
    binary_gaussian_accuracy,
    binary_spurious_gaussian_accuracy,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_choice,
    check_int,
    check_probability,
    check_real,
)
from spurbench.registry import register_generator

ATTRIBUTES = ("own", "shared")


def _flipped_shortcuts(X: np.ndarray, columns: slice, attributes: np.ndarray,
                       separation: float) -> np.ndarray:
    """X with every shortcut moved to the mean of its flipped attribute, noise kept."""
    X_cf = X.copy()
    X_cf[:, columns] += (1.0 - 2.0 * attributes) * separation
    return X_cf


@register_generator("many_shortcuts")
class ManyShortcuts(Generator):
    """k weak one-feature shortcuts, each tied to y through an attribute that reverses."""

    def __init__(
        self,
        train_correlation: float = 0.8,
        n_shortcuts: int = 10,
        shortcut_separation: float = 0.6,
        attribute: str = "own",
        n_core: int = 1,
        core_separation: float = 2.0,
        n_noise: int = 0,
    ):
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.n_shortcuts = check_int("n_shortcuts", n_shortcuts, minimum=1)
        self.shortcut_separation = check_real("shortcut_separation", shortcut_separation, minimum=0)
        self.attribute = check_choice("attribute", attribute, ATTRIBUTES)
        self.n_core = check_int("n_core", n_core, minimum=1)
        self.core_separation = check_real("core_separation", core_separation, minimum=0,
                                          exclusive_minimum=True)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.n_classes = 2
        self.roles = ("core",) * self.n_core + ("spurious",) * self.n_shortcuts + (
            "noise",) * self.n_noise
        self._shortcuts = slice(self.n_core, self.n_core + self.n_shortcuts)
        self._core_means = block_means(self.n_core, self.core_separation)

    def agreement(self, shift: float) -> float:
        """P(a_j = y) at `shift`, for every shortcut."""
        return agreement(self.train_correlation, shift)

    def attribute_agreement(self, shift: float) -> float:
        """P(Sample.attr = y) at `shift`: rho, or for "own" the chance that most a_j agree."""
        rho, k = self.agreement(shift), self.n_shortcuts
        if self.attribute == "shared":
            return rho
        majority = float(stats.binom.sf(k // 2, k, rho))  # more than k / 2 agree
        tie = float(stats.binom.pmf(k // 2, k, rho)) if k % 2 == 0 else 0.0
        return majority + 0.5 * tie  # a tie goes to a_1, which agrees in half of the tied draws

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        k, rho = self.n_shortcuts, self.agreement(shift)
        y = (rng.random(n) < 0.5).astype(np.int64)
        width = k if self.attribute == "own" else 1
        agrees = rng.random((n, width)) < rho
        attributes = np.broadcast_to(np.where(agrees, y[:, None], 1 - y[:, None]), (n, k))
        votes = 2 * attributes.sum(axis=1) - k
        attr = np.where(votes != 0, votes > 0, attributes[:, 0] == 1).astype(np.int64)
        X = rng.standard_normal((n, len(self.roles)))
        X[:, : self.n_core] += self._core_means[y]
        X[:, self._shortcuts] += (attributes - 0.5) * self.shortcut_separation
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr,
                      X_counterfactual=partial(_flipped_shortcuts, X, self._shortcuts,
                                               np.array(attributes), self.shortcut_separation))

    def _core_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        return block_log_likelihood(X[:, : self.n_core], self._core_means)

    def _shortcut_log_likelihood(self, X: np.ndarray, shift: float) -> np.ndarray:
        """log P(shortcuts | y), (n, 2), up to a term shared by both classes."""
        rho, half = self.agreement(shift), self.shortcut_separation / 2.0
        shortcuts = X[:, self._shortcuts]
        if self.attribute == "shared":
            total = half * shortcuts.sum(axis=1)
            return attribute_log_mixture(np.column_stack([-total, total]), rho)
        with np.errstate(divide="ignore"):
            log_rho, log_not = np.log(rho), np.log1p(-rho)
        up = np.logaddexp(log_rho + half * shortcuts, log_not - half * shortcuts).sum(axis=1)
        down = np.logaddexp(log_rho - half * shortcuts, log_not + half * shortcuts).sum(axis=1)
        return np.column_stack([down, up])

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        log_joint = self._core_log_likelihood(X) + self._shortcut_log_likelihood(X, shift)
        return special.softmax(log_joint, axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._core_log_likelihood(X), axis=1)

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.attribute == "shared":
            separation = self.shortcut_separation * np.sqrt(self.n_shortcuts)
            return binary_spurious_gaussian_accuracy(self.core_separation, float(separation),
                                                     self.agreement(shift), 0.5)
        if self.shortcut_separation == 0.0 or self.agreement(shift) == 0.5:
            return self.invariant_accuracy(shift)
        return None

    def invariant_accuracy(self, shift: float) -> float:
        return binary_gaussian_accuracy(self.core_separation, 0.5)
