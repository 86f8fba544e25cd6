"""`invariant_margin`: Example3 ("small invariant margin") of the linear unit tests of Aubin et
al. (2021).

Source: B. Aubin, A. Slowik, M. Arjovsky, L. Bottou, D. Lopez-Paz, "Linear unit-tests for
invariance discovery" (ICML 2021 UDL workshop, arXiv:2102.10867); the construction follows
``Example3`` in ``scripts/datasets.py`` of github.com/facebookresearch/InvarianceUnitTests.

The label y in {0, 1} is a fair coin (the paper draws exactly half of each). Write
sigma = +1 for y = 0 and -1 for y = 1. Given y:

* the ``dim_inv`` invariant features are N(sigma * margin * 1, noise_sd^2 I): a small margin
  (published 0.1, with noise_sd 0.1) that separates the classes in every environment;
* the ``dim_spu`` spurious features are N(sigma * mu_e, noise_sd^2 I) in environment e, drawn
  uniformly from ``n_envs`` environments whose directions mu_e ~ N(0, I) are fixed once by
  ``env_seed`` (the paper draws them from torch's global stream): a large margin, but one that
  points a different way in every environment.

Shift. The paper tests with the spurious block of every row replaced by another row's (a
random permutation), so it no longer says anything about y. Here the shift s is the share of
test rows so treated: with probability s a row's spurious block is drawn afresh from its
training marginal (a random environment, a random sign); otherwise it is the row's own. So the
attribute a (the label the spurious block points to: sigma_a mu_e) equals y with probability
``agreement(s) = 1 - s / 2``: always at shift 0, half the time at shift 1 (the paper's test).

Parameters
----------
dim_inv, dim_spu : widths of the blocks (>= 1; published 5 and 5).
n_envs : number of training environments (1 to 100; published 3 in the README's example).
env_seed : seed of the environment directions (an integer >= 0).
margin : the invariant mean per feature (> 0; published 0.1).
noise_sd : the within-class standard deviation of every feature (> 0; published 0.1).

Oracles. Given a, the spurious block is an equal mixture over environments of
N(sigma_a mu_e, noise_sd^2 I), and a equals y with probability agreement(s), so `posterior` is
exact (`_synthetic.attribute_log_mixture`). The invariant block alone gives the closed form
invariant_accuracy = Phi(margin sqrt(dim_inv) / noise_sd) (Phi(sqrt 5) = 0.987 published), which
is also the Bayes accuracy at shift 1; elsewhere `bayes_accuracy` is None and the oracle rows
give a Monte-Carlo value. ``Sample.attr`` is a, the group 2 y + a, and the counterfactual
negates the spurious block's mean (sigma_a mu_e -> -sigma_a mu_e), noise kept.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import special, stats
from spurbench.generators._synthetic import attribute_log_mixture
from spurbench.generators.base import (
    MAX_SEED,
    Generator,
    Sample,
    check_int,
    check_real,
    check_shift,
)
from spurbench.registry import register_generator

MAX_ENVIRONMENTS = 100


def _negated_spurious(X: np.ndarray, columns: slice, means: np.ndarray) -> np.ndarray:
    """X with each row's spurious mean negated (the attribute flipped), noise kept."""
    X_cf = X.copy()
    X_cf[:, columns] -= 2.0 * means
    return X_cf


@register_generator("invariant_margin")
class InvariantMargin(Generator):
    """Aubin et al.'s small invariant margin against a large spurious one that changes direction."""

    def __init__(
        self,
        dim_inv: int = 5,
        dim_spu: int = 5,
        n_envs: int = 3,
        env_seed: int = 0,
        margin: float = 0.1,
        noise_sd: float = 0.1,
    ):
        self.dim_inv = check_int("dim_inv", dim_inv, minimum=1)
        self.dim_spu = check_int("dim_spu", dim_spu, minimum=1)
        self.n_envs = check_int("n_envs", n_envs, minimum=1, maximum=MAX_ENVIRONMENTS)
        self.env_seed = check_int("env_seed", env_seed, minimum=0, maximum=MAX_SEED)
        self.margin = check_real("margin", margin, minimum=0, exclusive_minimum=True)
        self.noise_sd = check_real("noise_sd", noise_sd, minimum=0, exclusive_minimum=True)
        self.n_classes = 2
        self.roles = ("core",) * self.dim_inv + ("spurious",) * self.dim_spu
        self._spurious = slice(self.dim_inv, self.dim_inv + self.dim_spu)
        self.env_means = np.random.default_rng(self.env_seed).standard_normal((self.n_envs,
                                                                               self.dim_spu))

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return 1.0 - check_shift(shift) / 2.0

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        y = (rng.random(n) < 0.5).astype(np.int64)
        shuffled = rng.random(n) < check_shift(shift)
        fresh = (rng.random(n) < 0.5).astype(np.int64)
        attr = np.where(shuffled, fresh, y)
        env = rng.integers(self.n_envs, size=n)
        X = rng.standard_normal((n, len(self.roles))) * self.noise_sd
        X[:, : self.dim_inv] += ((1.0 - 2.0 * y) * self.margin)[:, None]
        spurious_means = (1.0 - 2.0 * attr)[:, None] * self.env_means[env]
        X[:, self._spurious] += spurious_means
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr,
                      X_counterfactual=partial(_negated_spurious, X, self._spurious, spurious_means))

    def _invariant_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log P(invariant block | y), (n, 2), up to a term shared by both classes."""
        total = X[:, : self.dim_inv].sum(axis=1) * self.margin / self.noise_sd**2
        return np.column_stack([total, -total])

    def _spurious_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log P(spurious block | a), (n, 2): a log-mean over the environments."""
        cross = X[:, self._spurious] @ self.env_means.T / self.noise_sd**2  # (n, envs)
        offset = (self.env_means**2).sum(axis=1) / (2.0 * self.noise_sd**2)
        return np.column_stack([special.logsumexp(cross - offset, axis=1),
                                special.logsumexp(-cross - offset, axis=1)])

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        log_joint = self._invariant_log_likelihood(X) + attribute_log_mixture(
            self._spurious_log_likelihood(X), self.agreement(shift))
        return special.softmax(log_joint, axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._invariant_log_likelihood(X), axis=1)

    def bayes_accuracy(self, shift: float) -> float | None:
        return self.invariant_accuracy(shift) if self.agreement(shift) == 0.5 else None

    def invariant_accuracy(self, shift: float) -> float:
        return float(stats.norm.cdf(self.margin * np.sqrt(self.dim_inv) / self.noise_sd))
