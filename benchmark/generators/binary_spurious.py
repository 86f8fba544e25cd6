"""`binary_spurious`: bag-of-words features (0/1) with spurious "words" tied to an attribute.

Think of sentiment reviews where some words carry the sentiment y in {0, 1} and others reveal the
review's source a in {0, 1}, which happens to agree with the sentiment in training. Every feature
is an independent Bernoulli draw given (y, a):

* core word j is present with probability ``core_rate_y1`` if y = 1, ``core_rate_y0`` if y = 0;
* spurious word j is present with probability ``spurious_rate_a1`` if a = 1, ``spurious_rate_a0``
  if a = 0;
* noise word j is present with probability ``noise_rate`` whatever y and a.

a equals y with probability ``rho(shift)``:

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (the correlation is reversed);
* linear in between (shift 0.5: a independent of y).

Parameters
----------
train_correlation : P(a = y) in training, in [0, 1].
n_core, n_spurious, n_noise : numbers of core (>= 1), spurious (>= 1) and noise (>= 0) words.
core_rate_y0, core_rate_y1 : P(a core word is present) when y = 0 / y = 1, each in [0, 1].
spurious_rate_a0, spurious_rate_a1 : P(a spurious word is present) when a = 0 / a = 1, each in
    [0, 1].
noise_rate : P(a noise word is present) whatever y and a, in [0, 1].
positive_fraction : P(y = 1), in (0, 1).

Given y, the core words are independent (naive Bayes' assumption holds for them) but the spurious
words are a mixture over a, so they are dependent given y. The words of a block are exchangeable,
so the counts of present core words and of present spurious words are sufficient statistics: the
posterior is exact, and the Bayes and core-only accuracies are exact sums over the
(n_core + 1) x (n_spurious + 1) possible counts. The counterfactual flips a and redraws only the
spurious words from the same uniforms, so a word changes only if the flip changes its fate.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from spurbench.generators._synthetic import (
    attribute_log_mixture,
    draw_labels,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_int,
    check_probability,
    counterfactual_attribute,
    draw_attribute,
)
from spurbench.registry import register_generator


def _words_log_likelihood(counts: np.ndarray, width: int, rates: np.ndarray) -> np.ndarray:
    """log P(words | rate), (n, len(rates)), for a block of `width` exchangeable words of which
    `counts` are present (0 * log 0 = 0, so rates of exactly 0 or 1 are fine)."""
    c = counts[:, None]
    return special.xlogy(c, rates) + special.xlog1py(width - c, -rates)


def _log_comb(n: int, k: np.ndarray) -> np.ndarray:
    """log of the binomial coefficient C(n, k): how many word sets have k present words."""
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


@register_generator("binary_spurious")
class BinarySpurious(Generator):
    """Bag-of-words 0/1 features; spurious words follow an attribute whose agreement with y reverses."""

    discrete = True

    def __init__(
        self,
        train_correlation: float = 0.9,
        n_core: int = 10,
        n_spurious: int = 1,
        n_noise: int = 20,
        core_rate_y0: float = 0.1,
        core_rate_y1: float = 0.25,
        spurious_rate_a0: float = 0.05,
        spurious_rate_a1: float = 0.9,
        noise_rate: float = 0.1,
        positive_fraction: float = 0.5,
    ):
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.n_core = check_int("n_core", n_core, minimum=1)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=1)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.core_rates = np.array([check_probability("core_rate_y0", core_rate_y0),
                                    check_probability("core_rate_y1", core_rate_y1)])
        self.spurious_rates = np.array([check_probability("spurious_rate_a0", spurious_rate_a0),
                                        check_probability("spurious_rate_a1", spurious_rate_a1)])
        self.noise_rate = check_probability("noise_rate", noise_rate)
        self.positive_fraction = check_probability("positive_fraction", positive_fraction,
                                                   open_interval=True)
        self.n_classes = 2
        self.prior = np.array([1.0 - self.positive_fraction, self.positive_fraction])
        self.roles = ("core",) * self.n_core + ("spurious",) * self.n_spurious + (
            "noise",) * self.n_noise
        self._spurious = slice(self.n_core, self.n_core + self.n_spurious)

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return agreement(self.train_correlation, shift)

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        y = draw_labels(rng.random(n), self.prior)
        attr = draw_attribute(y, self.agreement(shift), 2, rng)
        u = rng.random((n, len(self.roles)))
        rates = np.empty_like(u)
        rates[:, : self.n_core] = self.core_rates[y][:, None]
        rates[:, self._spurious] = self.spurious_rates[attr][:, None]
        rates[:, self._spurious.stop :] = self.noise_rate
        X = (u < rates).astype(float)
        X_cf = X.copy()
        flipped = self.spurious_rates[counterfactual_attribute(attr, 2)][:, None]
        X_cf[:, self._spurious] = (u[:, self._spurious] < flipped).astype(float)
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr, X_counterfactual=X_cf)

    # -- oracles ---------------------------------------------------------------------------
    def _log_joint(self, core_counts: np.ndarray, spurious_counts: np.ndarray | None,
                   shift: float) -> np.ndarray:
        """log P(y, words), (n, 2), from the counts of present words; core words only when
        `spurious_counts` is None."""
        log_joint = np.log(self.prior) + _words_log_likelihood(core_counts, self.n_core, self.core_rates)
        if spurious_counts is not None:
            by_attr = _words_log_likelihood(spurious_counts, self.n_spurious, self.spurious_rates)
            log_joint = log_joint + attribute_log_mixture(by_attr, self.agreement(shift))
        return log_joint

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        counts = X[:, : self.n_core].sum(axis=1), X[:, self._spurious].sum(axis=1)
        return special.softmax(self._log_joint(*counts, shift), axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._log_joint(X[:, : self.n_core].sum(axis=1), None, shift), axis=1)

    def _exact_accuracy(self, shift: float, *, core_only: bool) -> float:
        """Sum over every possible pair of counts of the larger joint probability P(y, counts)."""
        core = np.arange(self.n_core + 1, dtype=float)
        if core_only:
            log_joint = self._log_joint(core, None, shift) + _log_comb(self.n_core, core)[:, None]
        else:
            spurious = np.arange(self.n_spurious + 1, dtype=float)
            core, spurious = (g.ravel() for g in np.meshgrid(core, spurious, indexing="ij"))
            log_joint = self._log_joint(core, spurious, shift) + (
                _log_comb(self.n_core, core) + _log_comb(self.n_spurious, spurious))[:, None]
        return float(np.exp(log_joint).max(axis=1).sum())

    def bayes_accuracy(self, shift: float) -> float:
        return self._exact_accuracy(shift, core_only=False)

    def invariant_accuracy(self, shift: float) -> float:
        return self._exact_accuracy(shift, core_only=True)
