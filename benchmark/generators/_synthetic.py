"""Shared machinery of the synthetic families (no registration here).

Labels, class-mean geometry, the log-likelihood of a block that depends on y only through a
spurious attribute, and the closed-form / quadrature oracle accuracies of Gaussian classes. The
attribute mechanism itself (a equals y with probability rho, otherwise uniform over the other
values; counterfactual = next value) is the one the real-data families use, from `_real`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import integrate, special, stats

_SQRT_2PI = math.sqrt(2.0 * math.pi)

__all__ = [
    "attribute_log_mixture",
    "binary_gaussian_accuracy",
    "binary_spurious_gaussian_accuracy",
    "draw_labels",
    "simplex_accuracy",
    "simplex_means",
    "spread_basis",
]


def draw_labels(u: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Labels from uniforms `u` with P(y = k) = prior[k].

    Classes take the unit interval from the top class down, so for two classes y = 1 exactly
    when u < prior[1]: the mapping the binary families always used, so their draws are unchanged.
    """
    prior = np.asarray(prior, dtype=float)
    if len(prior) == 2:  # the same mapping without the search: y = 1 exactly when u < prior[1]
        return (u < prior[1]).astype(np.int64)
    upper = np.cumsum(prior[::-1])
    index = np.minimum(np.searchsorted(upper, u, side="right"), len(upper) - 1)
    return (len(upper) - 1 - index).astype(np.int64)


def simplex_means(n_classes: int, separation: float) -> np.ndarray:
    """(K, K-1) vertices of a centred regular simplex with every pairwise distance `separation`.

    Built from the negated Helmert basis of the plane sum(x) = 0, so two classes sit at
    -separation/2 (class 0) and +separation/2 (class 1).
    """
    k = n_classes
    helmert = np.zeros((k, k - 1))
    for j in range(1, k):
        helmert[:j, j - 1] = -1.0
        helmert[j, j - 1] = float(j)
        helmert[:, j - 1] /= np.sqrt(j * (j + 1))
    centred = np.eye(k) - 1.0 / k
    return separation / np.sqrt(2.0) * centred @ helmert


def spread_basis(width: int, n_directions: int) -> np.ndarray:
    """(width, n_directions) orthonormal columns: the first DCT-II basis vectors of a block.

    The first is the all-ones direction, the next are slow cosines, so every feature of the block
    carries some of the signal (no single feature holds it all).
    """
    j = np.arange(width)
    columns = [np.full(width, 1.0 / np.sqrt(width))]
    columns += [np.sqrt(2.0 / width) * np.cos(np.pi * k * (2 * j + 1) / (2 * width))
                for k in range(1, n_directions)]
    return np.column_stack(columns[:n_directions])


def attribute_log_mixture(log_lik_attr: np.ndarray, rho: float) -> np.ndarray:
    """log P(block | y) for a block that depends on y only through the attribute a.

    `log_lik_attr[:, a]` is log P(block | a) (up to a constant shared by every a); a equals y with
    probability `rho`, otherwise it is uniform over the other K-1 values.
    """
    k = log_lik_attr.shape[1]
    with np.errstate(divide="ignore"):
        log_p = np.where(np.eye(k, dtype=bool), np.log(rho), np.log((1.0 - rho) / (k - 1)))
    # rows of log_p are y, columns a: result[i, y] = logsumexp_a(log_lik[i, a] + log_p[y, a])
    return special.logsumexp(log_lik_attr[:, None, :] + log_p[None, :, :], axis=2)


def binary_gaussian_accuracy(separation: float, positive_fraction: float) -> float:
    """Bayes accuracy of two Gaussian classes sharing a covariance, Mahalanobis distance
    `separation` and prior P(y = 1) = `positive_fraction` (Phi(separation / 2) when balanced)."""
    pi1 = positive_fraction
    if pi1 in (0.0, 1.0):
        return 1.0
    c = -(np.log(pi1) - np.log1p(-pi1)) / separation
    return float(pi1 * stats.norm.cdf(separation / 2 - c)
                 + (1 - pi1) * stats.norm.cdf(separation / 2 + c))


def _normal_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _log_mix(log_w: float, log_a: float, log_not_w: float, log_b: float) -> float:
    """log(w e^a + (1 - w) e^b) for scalars, with log weights (either may be -inf)."""
    return float(np.logaddexp(log_w + log_a, log_not_w + log_b))


@functools.lru_cache(maxsize=4096)
def binary_spurious_gaussian_accuracy(core_separation: float, spurious_separation: float,
                                      rho: float, positive_fraction: float) -> float:
    """Bayes accuracy of the binary core + spurious Gaussian model.

    The core projection u | y ~ N(+-core_separation/2, 1); the spurious projection
    t | a ~ N(+-spurious_separation/2, 1) with P(a = y) = rho. For each t the best rule thresholds
    u, whose error is a normal cdf, so only t is integrated, by adaptive quadrature (~1e-9).
    Scalar math in the integrand and a per-process cache keep it cheap: the harness asks for it
    at every shift level of every fit.
    """
    dc, half, pi1 = core_separation, spurious_separation / 2.0, positive_fraction
    if half == 0.0:
        return binary_gaussian_accuracy(dc, pi1)
    prior_log_odds = math.log(pi1) - math.log1p(-pi1)
    with np.errstate(divide="ignore"):
        log_rho, log_not = float(np.log(rho)), float(np.log1p(-rho))

    def integrand(t: float) -> float:
        up, down = -0.5 * (t - half) ** 2, -0.5 * (t + half) ** 2  # log densities, shared constant
        g = _log_mix(log_rho, up, log_not, down) - _log_mix(log_rho, down, log_not, up)
        tau = -(prior_log_odds + g) / dc  # decide 1 iff u > tau
        dens_a1, dens_a0 = _normal_pdf(t - half), _normal_pdf(t + half)
        f1 = rho * dens_a1 + (1 - rho) * dens_a0  # density of t given y = 1
        f0 = rho * dens_a0 + (1 - rho) * dens_a1
        return pi1 * f1 * _normal_cdf(dc / 2 - tau) + (1 - pi1) * f0 * _normal_cdf(tau + dc / 2)

    value, _ = integrate.quad(integrand, -half - 12.0, half + 12.0, points=[-half, 0.0, half],
                              limit=200, epsabs=1e-11)
    return float(value)


@functools.lru_cache(maxsize=256)
def simplex_accuracy(n_classes: int, separation: float) -> float:
    """Bayes accuracy of K equiprobable unit-covariance Gaussians on a regular simplex.

    With the means at (separation/sqrt 2) e_k the rule picks the largest coordinate, so
    P(correct) = integral of phi(z) Phi(z + separation/sqrt 2)^(K-1) dz (1-D quadrature).
    """
    shift = separation / np.sqrt(2.0)

    def integrand(z: float) -> float:
        return _normal_pdf(z) * _normal_cdf(z + shift) ** (n_classes - 1)

    value, _ = integrate.quad(integrand, -12.0, 12.0 + shift, limit=200, epsabs=1e-11)
    return float(value)
