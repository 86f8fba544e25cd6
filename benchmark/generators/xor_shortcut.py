"""`xor_shortcut`: a non-linear (XOR) core beside a linear Gaussian shortcut.

The label y in {0, 1} is balanced. The two core features follow the Gaussian XOR: class 0 is an
equal mixture of N((c, c), I) and N((-c, -c), I), class 1 of N((c, -c), I) and N((-c, c), I),
with c = ``core_offset``. No linear rule on the core beats chance, yet the core alone predicts y
well: the Bayes rule on it is "y = 0 iff x1 x2 > 0".

A binary attribute a agrees with y with probability ``rho(shift)`` (`base.agreement`):

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (reversed);
* linear in between (shift 0.5: a independent of y).

The ``n_spurious`` spurious features are N(-+spurious_separation/2 along the all-ones
direction, I) by a (`_shortcut`), a shortcut any linear model can read, and ``n_noise``
features are N(0, 1) and independent of everything. The question: does a model that cannot
represent the core (a linear or naive-Bayes one) fall back on the shortcut, and pay for it when
the shortcut reverses, while a flexible one learns the XOR?

Parameters
----------
train_correlation : P(a = y) in training, in [0, 1].
core_offset : c > 0, the distance of every mixture centre from each axis.
n_spurious : width of the spurious block (>= 1).
spurious_separation : Mahalanobis distance between the two attribute means (>= 0).
n_noise : number of noise features (>= 0).

Oracles. With u = c (x1 + x2) and v = c (x1 - x2), P(core | y = 0) is proportional to cosh(u)
and P(core | y = 1) to cosh(v) (the Gaussian factors shared by the classes cancel), and the
spurious block enters as a mixture over a, so `posterior` is exact at every shift. The core-only
Bayes rule is the sign of x1 x2, whose accuracy is exact:
invariant_accuracy = Phi(c)^2 + (1 - Phi(c))^2 (both coordinates on their centre's side, or both
across). The Bayes accuracy with the shortcut has no closed form: `bayes_accuracy` is None
(the oracle rows give a Monte-Carlo value) unless the shortcut carries no information.
The counterfactual moves the spurious block to the other attribute's mean, noise kept.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import special, stats
from spurbench.generators._shortcut import block_log_likelihood, block_means, moved_block
from spurbench.generators._synthetic import attribute_log_mixture
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_int,
    check_probability,
    check_real,
    draw_attribute,
)
from spurbench.registry import register_generator


@register_generator("xor_shortcut")
class XorShortcut(Generator):
    """A Gaussian XOR core that no linear rule can read, and a linear shortcut that reverses."""

    def __init__(
        self,
        train_correlation: float = 0.9,
        core_offset: float = 1.5,
        n_spurious: int = 1,
        spurious_separation: float = 3.0,
        n_noise: int = 0,
    ):
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.core_offset = check_real("core_offset", core_offset, minimum=0, exclusive_minimum=True)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=1)
        self.spurious_separation = check_real("spurious_separation", spurious_separation, minimum=0)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.n_classes = 2
        self.roles = ("core",) * 2 + ("spurious",) * self.n_spurious + ("noise",) * self.n_noise
        self._spurious = slice(2, 2 + self.n_spurious)
        self._attribute_means = block_means(self.n_spurious, self.spurious_separation)

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return agreement(self.train_correlation, shift)

    def attribute_means(self) -> np.ndarray:
        """(2, n_spurious) means of the spurious block for a = 0 and a = 1."""
        return self._attribute_means

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        y = (rng.random(n) < 0.5).astype(np.int64)
        attr = draw_attribute(y, self.agreement(shift), 2, rng)
        side = np.where(rng.random(n) < 0.5, 1.0, -1.0) * self.core_offset
        X = rng.standard_normal((n, len(self.roles)))
        X[:, 0] += side
        X[:, 1] += np.where(y == 0, side, -side)
        X[:, self._spurious] += self._attribute_means[attr]
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr,
                      X_counterfactual=partial(moved_block, X, self._spurious, attr,
                                               self._attribute_means))

    def _core_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log P(core | y) up to a term shared by both classes: log 2 cosh of u and of v."""
        u = self.core_offset * (X[:, 0] + X[:, 1])
        v = self.core_offset * (X[:, 0] - X[:, 1])
        return np.column_stack([np.logaddexp(u, -u), np.logaddexp(v, -v)])

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        cross = block_log_likelihood(X[:, self._spurious], self._attribute_means)
        log_joint = self._core_log_likelihood(X) + attribute_log_mixture(cross, self.agreement(shift))
        return special.softmax(log_joint, axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._core_log_likelihood(X), axis=1)

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.spurious_separation == 0.0 or self.agreement(shift) == 0.5:
            return self.invariant_accuracy(shift)
        return None

    def invariant_accuracy(self, shift: float) -> float:
        p = float(stats.norm.cdf(self.core_offset))
        return p**2 + (1.0 - p) ** 2
