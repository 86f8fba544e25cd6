"""`label_noise_shortcut`: a shortcut made by label noise that depends on the attribute.

A clean label y* in {0, 1} and an attribute a in {0, 1} are independent fair coins. The
``n_core`` core features are N(-+core_separation/2 along the all-ones direction, I) by y*; the
``n_spurious`` spurious features are N(-+spurious_separation/2 along theirs, I) by a; ``n_noise``
features are N(0, 1). The observed label y (what every model learns and is scored on) is y*
flipped with a probability that depends on whether y* already equals a:

* towards a (y* != a): flipped with probability ``noise_rate (1 - shift)``;
* away from a (y* = a): flipped with probability ``noise_rate shift``.

So at shift 0 the annotators "correct" labels towards the attribute and a predicts the observed
label with P(y = a) = 1/2 + noise_rate / 2; at shift 1 the noise pushes labels away from a
(P(y = a) = 1/2 - noise_rate / 2); at shift 0.5 the noise is symmetric and a is independent of y.
At every shift a share noise_rate / 2 of the labels is flipped: only where the noise falls
moves. The question: a model fitted to noisy labels learns that the attribute predicts them; is
that a shortcut it pays for when the noise mechanism changes (a new annotator pool), and which
paradigm learns it more?

Parameters
----------
noise_rate : eta, in [0, 1): the largest flip probability.
n_core, n_spurious : widths of the core and spurious blocks (>= 1 each).
core_separation : Mahalanobis distance between the clean classes' means (> 0).
spurious_separation : the same for the attribute's two means (>= 0).
n_noise : number of noise features (>= 0).

Oracles. The blocks are independent given (y*, a), so P(y*, a | x) = P(y* | core) P(a | spurious)
(two logistic posteriors) and P(y | x) = sum over (y*, a) of that times P(y | y*, a, shift):
`posterior` is exact. Without the spurious block a is a fair coin, every label is flipped with
probability eta / 2 whatever y*, so the core-only rule is the clean one and
invariant_accuracy = (1 - eta / 2) Phi(core_separation / 2) + (eta / 2)(1 - Phi(core_separation / 2)),
exact. The Bayes accuracy with the spurious block has no closed form here: None (a Monte-Carlo
value in the oracle rows) unless the block carries no information. ``Sample.attr`` is a, the
group 2 y + a, and the counterfactual moves the spurious block to the other attribute's mean
(noise and label kept).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import special, stats
from spurbench.errors import ParameterError
from spurbench.generators._shortcut import block_log_likelihood, block_means, moved_block
from spurbench.generators.base import (
    Generator,
    Sample,
    check_int,
    check_real,
    check_shift,
)
from spurbench.registry import register_generator


@register_generator("label_noise_shortcut")
class LabelNoiseShortcut(Generator):
    """Label noise that flips labels towards an attribute in training, away from it under shift."""

    def __init__(
        self,
        noise_rate: float = 0.4,
        n_core: int = 2,
        n_spurious: int = 1,
        core_separation: float = 2.0,
        spurious_separation: float = 4.0,
        n_noise: int = 0,
    ):
        self.noise_rate = check_real("noise_rate", noise_rate, minimum=0)
        if self.noise_rate >= 1.0:
            raise ParameterError("noise_rate", f"must be >= 0 and < 1, got {noise_rate!r}")
        self.n_core = check_int("n_core", n_core, minimum=1)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=1)
        self.core_separation = check_real("core_separation", core_separation, minimum=0,
                                          exclusive_minimum=True)
        self.spurious_separation = check_real("spurious_separation", spurious_separation, minimum=0)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.n_classes = 2
        self.roles = ("core",) * self.n_core + ("spurious",) * self.n_spurious + (
            "noise",) * self.n_noise
        self._spurious = slice(self.n_core, self.n_core + self.n_spurious)
        self._core_means = block_means(self.n_core, self.core_separation)
        self._attribute_means = block_means(self.n_spurious, self.spurious_separation)

    def flip_rates(self, shift: float) -> tuple[float, float]:
        """(P(flip | y* != a), P(flip | y* = a)) at `shift`: towards and away from a."""
        s = check_shift(shift)
        return self.noise_rate * (1.0 - s), self.noise_rate * s

    def agreement(self, shift: float) -> float:
        """P(y = a) at `shift`."""
        towards, away = self.flip_rates(shift)
        return 0.5 * (1.0 - away) + 0.5 * towards

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        towards, away = self.flip_rates(shift)
        clean = (rng.random(n) < 0.5).astype(np.int64)
        attr = (rng.random(n) < 0.5).astype(np.int64)
        flip = rng.random(n) < np.where(clean == attr, away, towards)
        y = clean ^ flip
        X = rng.standard_normal((n, len(self.roles)))
        X[:, : self.n_core] += self._core_means[clean]
        X[:, self._spurious] += self._attribute_means[attr]
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr,
                      X_counterfactual=partial(moved_block, X, self._spurious, attr,
                                               self._attribute_means))

    def _clean_posterior(self, X: np.ndarray) -> np.ndarray:
        """P(y* = 1 | core block)."""
        log_lik = block_log_likelihood(X[:, : self.n_core], self._core_means)
        return special.expit(log_lik[:, 1] - log_lik[:, 0])

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        towards, away = self.flip_rates(shift)
        clean = self._clean_posterior(X)
        log_lik = block_log_likelihood(X[:, self._spurious], self._attribute_means)
        attr = special.expit(log_lik[:, 1] - log_lik[:, 0])
        # P(y = 1 | y*, a): y* = 1 stays unless flipped; y* = 0 becomes 1 only if flipped
        positive = (clean * attr * (1.0 - away) + clean * (1.0 - attr) * (1.0 - towards)
                    + (1.0 - clean) * attr * towards + (1.0 - clean) * (1.0 - attr) * away)
        return np.column_stack([1.0 - positive, positive])

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        half = self.noise_rate / 2.0
        positive = half + (1.0 - self.noise_rate) * self._clean_posterior(X)
        return np.column_stack([1.0 - positive, positive])

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.spurious_separation == 0.0 or self.agreement(shift) == 0.5:
            return self.invariant_accuracy(shift)
        return None

    def invariant_accuracy(self, shift: float) -> float:
        p, half = float(stats.norm.cdf(self.core_separation / 2.0)), self.noise_rate / 2.0
        return (1.0 - half) * p + half * (1.0 - p)
