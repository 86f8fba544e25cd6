"""Gaussian class-conditional densities: drawing, exact posteriors, linear-rule accuracies.

Shared by the families whose classes are multivariate normals with a covariance common to all
classes (noise_shift, missing_features, nb_misspecified); no registration here. The class-mean
geometry reuses `_synthetic` (simplex_means, spread_basis).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, special, stats
from spurbench.errors import ParameterError
from spurbench.generators._synthetic import simplex_means, spread_basis


def check_covariance(field: str, cov: np.ndarray) -> np.ndarray:
    """`cov` if it is numerically positive definite, else a ParameterError naming `field`, the
    parameter that pushed it to the edge (e.g. a correlation within rounding of 1)."""
    try:
        linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError:
        raise ParameterError(field, "makes the covariance numerically singular; move it away "
                                    "from its limit") from None
    return cov


def draw_gaussian(y: np.ndarray, means: np.ndarray, cov: np.ndarray,
                  rng: np.random.Generator) -> np.ndarray:
    """X[i] ~ N(means[y[i]], cov), drawn through the Cholesky factor of `cov`."""
    chol = linalg.cholesky(cov, lower=True)
    return means[y] + rng.standard_normal((len(y), means.shape[1])) @ chol.T


def log_likelihoods(X: np.ndarray, means: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(n, K) array of log N(X[i]; means[k], cov); an empty feature set gives zeros."""
    n, d = X.shape
    k = means.shape[0]
    if d == 0:
        return np.zeros((n, k))
    chol = linalg.cholesky(cov, lower=True)
    whiten = linalg.solve_triangular(chol, np.eye(d), lower=True)  # chol^-1: small, d x d
    z = (X[:, None, :] - means[None, :, :]) @ whiten.T
    mahalanobis = np.einsum("nkd,nkd->nk", z, z)
    log_det = 2.0 * np.log(np.diag(chol)).sum()
    return -0.5 * (mahalanobis + log_det + d * np.log(2.0 * np.pi))


def posterior_from_log_likelihoods(log_lik: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Bayes' rule: P(y = k | x) from log P(x | y = k) and the class prior."""
    with np.errstate(divide="ignore"):
        log_prior = np.log(np.asarray(prior, dtype=float))
    return special.softmax(log_lik + log_prior[None, :], axis=1)


def mahalanobis_distance(delta: np.ndarray, cov: np.ndarray) -> float:
    """sqrt(delta' cov^-1 delta): the separation of two classes sharing `cov`."""
    return float(np.sqrt(delta @ linalg.solve(cov, delta, assume_a="pos")))


def linear_rule_accuracy(weights: np.ndarray, bias: float, means: np.ndarray, cov: np.ndarray,
                         positive_fraction: float) -> float:
    """Accuracy of "predict 1 iff weights . x + bias > 0" on two Gaussian classes sharing `cov`.

    The score is normal within each class, so the accuracy is a sum of two normal cdfs; this is
    how a misspecified model's asymptotic accuracy is computed without sampling.
    """
    sd = float(np.sqrt(weights @ cov @ weights))
    pi1 = positive_fraction
    return float(pi1 * stats.norm.cdf((weights @ means[1] + bias) / sd)
                 + (1.0 - pi1) * stats.norm.cdf(-(weights @ means[0] + bias) / sd))


def spread_class_means(n_classes: int, n_core: int, n_noise: int, separation: float,
                       contrast: bool = False) -> np.ndarray:
    """(K, n_core + n_noise) class means: a regular simplex (every pair `separation` apart) laid
    along K - 1 orthonormal DCT directions of the core block (`_synthetic.spread_basis`), zero on
    the noise features.

    The slowest directions by default (two classes: -+separation/2 along the all-ones direction);
    with `contrast`, the fastest ones, so the classes differ in how neighbouring features
    contrast with each other rather than in their common level.
    """
    basis = spread_basis(n_core, n_core)
    directions = basis[:, ::-1][:, : n_classes - 1] if contrast else basis[:, : n_classes - 1]
    means = np.zeros((n_classes, n_core + n_noise))
    means[:, :n_core] = simplex_means(n_classes, separation) @ directions.T
    return means
