"""`gaussian_spurious`: Gaussian core features plus spurious features tied to an attribute.

The label y in {0, 1} moves the mean of the core block; an attribute a moves the mean of the
spurious block. a agrees with y with probability ``rho(shift)``:

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (the correlation is fully reversed);
* linear in between, so shift 0.5 makes a independent of y when it is binary.

Every block is isotropic with unit variance; the class (attribute) means differ along the
all-ones direction by ``core_separation`` (``spurious_separation``), which is therefore the
Mahalanobis distance of that block: its signal-to-noise ratio. The Bayes and core-only accuracies
reduce to one-dimensional integrals over the spurious projection, computed by adaptive quadrature
(exact to ~1e-9, not Monte-Carlo).
"""

from __future__ import annotations

import numpy as np
from scipy import integrate, special, stats

from benchmark.generators.base import (
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
    interpolate,
)
from benchmark.registry import register_generator


@register_generator("gaussian_spurious")
class GaussianSpurious(Generator):
    """Gaussian core + spurious features; the spurious attribute's agreement with y reverses."""

    def __init__(
        self,
        train_correlation: float = 0.9,
        n_core: int = 1,
        n_spurious: int = 1,
        n_noise: int = 0,
        core_separation: float = 2.0,
        spurious_separation: float = 4.0,
        positive_fraction: float = 0.5,
    ):
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.n_core = check_int("n_core", n_core, minimum=1)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=0)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.core_separation = check_real(
            "core_separation", core_separation, minimum=0, exclusive_minimum=True
        )
        self.spurious_separation = check_real("spurious_separation", spurious_separation, minimum=0)
        self.positive_fraction = check_probability(
            "positive_fraction", positive_fraction, open_interval=True
        )
        self.n_classes = 2
        self.roles = ("core",) * self.n_core + ("spurious",) * self.n_spurious + (
            "noise",
        ) * self.n_noise

    # -- the distribution ------------------------------------------------------------------
    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return interpolate(self.train_correlation, 1.0 - self.train_correlation, shift)

    def _block_mean(self, signs: np.ndarray, separation: float, width: int) -> np.ndarray:
        return np.outer(signs * separation / 2.0, np.full(width, 1.0 / np.sqrt(width)))

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        rho = self.agreement(shift)
        y = (rng.random(n) < self.positive_fraction).astype(np.int64)
        agrees = rng.random(n) < rho
        attr = np.where(agrees, y, 1 - y)
        noise = rng.standard_normal((n, len(self.roles)))
        core = self._block_mean(2.0 * y - 1.0, self.core_separation, self.n_core)
        X = noise.copy()
        X[:, : self.n_core] += core
        X_cf = X.copy()
        if self.n_spurious:
            sp = slice(self.n_core, self.n_core + self.n_spurious)
            X[:, sp] += self._block_mean(2.0 * attr - 1.0, self.spurious_separation, self.n_spurious)
            X_cf[:, sp] += self._block_mean(
                1.0 - 2.0 * attr, self.spurious_separation, self.n_spurious
            )
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=2 * y + attr,
                      X_counterfactual=X_cf)

    # -- oracles ---------------------------------------------------------------------------
    def _projections(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sufficient statistics: unit-variance projections of the core and spurious blocks."""
        u = X[:, : self.n_core].sum(axis=1) / np.sqrt(self.n_core)
        if not self.n_spurious:
            return u, np.zeros_like(u)
        t = X[:, self.n_core : self.n_core + self.n_spurious].sum(axis=1) / np.sqrt(self.n_spurious)
        return u, t

    def _spurious_log_ratio(self, t: np.ndarray, rho: float) -> np.ndarray:
        """log P(t | y=1) - log P(t | y=0), with t | a ~ N(+-D/2, 1) and P(a = y) = rho."""
        half = self.spurious_separation / 2.0
        if not self.n_spurious or half == 0.0:
            return np.zeros_like(t)
        up, down = stats.norm.logpdf(t - half), stats.norm.logpdf(t + half)
        with np.errstate(divide="ignore"):
            log_rho, log_not = np.log(rho), np.log1p(-rho)
        return np.logaddexp(log_rho + up, log_not + down) - np.logaddexp(log_rho + down,
                                                                          log_not + up)

    def _prior_log_odds(self) -> float:
        return float(np.log(self.positive_fraction) - np.log1p(-self.positive_fraction))

    def _log_odds(self, X: np.ndarray, shift: float, *, core_only: bool) -> np.ndarray:
        u, t = self._projections(X)
        log_odds = self._prior_log_odds() + self.core_separation * u
        if not core_only:
            log_odds = log_odds + self._spurious_log_ratio(t, self.agreement(shift))
        return log_odds

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        p1 = special.expit(self._log_odds(X, shift, core_only=False))
        return np.column_stack([1.0 - p1, p1])

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        p1 = special.expit(self._log_odds(X, shift, core_only=True))
        return np.column_stack([1.0 - p1, p1])

    def _bayes_integral(self, shift: float) -> float:
        """Accuracy of the Bayes rule, integrating the core projection in closed form."""
        rho, dc, half = self.agreement(shift), self.core_separation, self.spurious_separation / 2
        pi1 = self.positive_fraction

        def integrand(t: float) -> float:
            g = float(self._spurious_log_ratio(np.array([t]), rho)[0])
            tau = -(self._prior_log_odds() + g) / dc  # decide 1 iff u > tau
            dens_a1, dens_a0 = stats.norm.pdf(t - half), stats.norm.pdf(t + half)
            f1 = rho * dens_a1 + (1 - rho) * dens_a0  # density of t given y = 1
            f0 = rho * dens_a0 + (1 - rho) * dens_a1
            return pi1 * f1 * stats.norm.cdf(dc / 2 - tau) + (1 - pi1) * f0 * stats.norm.cdf(
                tau + dc / 2
            )

        value, _ = integrate.quad(integrand, -half - 12.0, half + 12.0, points=[-half, 0.0, half],
                                  limit=200, epsabs=1e-11)
        return float(value)

    def _core_only_closed_form(self) -> float:
        dc, pi1 = self.core_separation, self.positive_fraction
        c = -self._prior_log_odds() / dc
        return float(pi1 * stats.norm.cdf(dc / 2 - c) + (1 - pi1) * stats.norm.cdf(dc / 2 + c))

    def bayes_accuracy(self, shift: float) -> float:
        if not self.n_spurious or self.spurious_separation == 0.0:
            return self._core_only_closed_form()
        return self._bayes_integral(shift)

    def invariant_accuracy(self, shift: float) -> float:
        return self._core_only_closed_form()
