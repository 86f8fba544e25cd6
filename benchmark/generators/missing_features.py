"""`missing_features`: at test time features go missing (NaN) at random, more of them as shift grows.

The question: does a generative model, which can marginalise a missing feature out of its
P(x | y), beat a discriminative one that needs the hole filled (mean imputation by the harness)?
The features are correlated, so the observed ones carry information about the missing ones and
marginalising differs from imputing the mean.

Data. ``n_classes`` equiprobable Gaussian classes over ``n_core`` core features whose
within-class covariance is autoregressive, corr(x_i, x_j) = feature_correlation^|i - j|
(neighbouring sensors or pixels), unit variances. The class means form a regular simplex with
every pair ``separation`` apart in Euclidean distance, laid along orthonormal cosine (DCT)
directions of the core block. ``mean_pattern`` picks them:

* "contrast" (default): the fastest-alternating directions, so the classes differ in the
  contrasts between neighbouring features. Positively correlated noise cancels in a contrast, so
  the best rule leans on pairs of features, and losing one member of a pair hurts a rule that
  cannot re-weight the others (mean imputation) much more than one that marginalises.
* "smooth": the slowest directions (two classes: -+separation/2 along the all-ones direction),
  where marginalising and imputing differ much less.

``n_noise`` further standard-normal features are independent of y and of the core block.

Shift s. Every feature of every test row is missing (NaN) independently with probability
``missing_probability(s) = s * max_missing`` (missing completely at random). Shift 0 is the
complete training distribution; shift 1 hides a fraction ``max_missing`` of all values. The
missingness mask is drawn even at shift 0, so one rng gives the same complete sample at every
level and only the holes grow.

Oracles. Missingness is independent of everything, so P(y | observed x) is Bayes' rule on the
marginal Gaussian of the observed features: `posterior` handles NaN exactly (rows grouped by
missingness pattern, one Cholesky factor per pattern) and ignores the shift. Two classes and
``n_core <= 12``: `bayes_accuracy` is exact, the average of Phi(Delta_O / 2) over the 2^n_core
patterns O of observed core features, weighted by their probabilities (noise features do not
matter); otherwise None. No spurious features: the invariant oracle equals the Bayes one.

Parameters
----------
n_classes : equiprobable classes (>= 2).
n_core : core features (>= 1 and >= n_classes - 1).
n_noise : noise features (>= 0).
separation : Euclidean distance between any two class means (> 0).
feature_correlation : the AR(1) correlation of neighbouring core features (in (-1, 1)).
mean_pattern : "contrast" (the classes differ in contrasts between neighbouring features) or
    "smooth" (in their common level), the directions of the class means.
max_missing : the probability that a value is missing at shift 1 (in [0, 1]).
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np
from scipy import linalg, stats
from spurbench.errors import ParameterError
from spurbench.generators._gaussian import (
    check_covariance,
    draw_gaussian,
    log_likelihoods,
    mahalanobis_distance,
    posterior_from_log_likelihoods,
    spread_class_means,
)
from spurbench.generators._synthetic import draw_labels
from spurbench.generators.base import (
    Generator,
    Sample,
    check_choice,
    check_int,
    check_probability,
    check_real,
    interpolate,
)
from spurbench.registry import register_generator

MEAN_PATTERNS = ("contrast", "smooth")
EXACT_PATTERN_LIMIT = 12  # enumerate at most 2^12 missingness patterns for the exact accuracy


@register_generator("missing_features")
class MissingFeatures(Generator):
    """Correlated Gaussian classes whose test features go missing completely at random."""

    def __init__(
        self,
        n_classes: int = 2,
        n_core: int = 6,
        n_noise: int = 0,
        separation: float = 1.2,
        feature_correlation: float = 0.7,
        mean_pattern: str = "contrast",
        max_missing: float = 0.5,
    ):
        self.n_classes = check_int("n_classes", n_classes, minimum=2)
        self.n_core = check_int("n_core", n_core, minimum=max(1, self.n_classes - 1))
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.separation = check_real("separation", separation, minimum=0, exclusive_minimum=True)
        self.feature_correlation = check_real("feature_correlation", feature_correlation)
        if not -1.0 < self.feature_correlation < 1.0:
            raise ParameterError("feature_correlation",
                                 f"must be strictly between -1 and 1, got {feature_correlation!r}")
        self.mean_pattern = check_choice("mean_pattern", mean_pattern, MEAN_PATTERNS)
        self.max_missing = check_probability("max_missing", max_missing)
        self.roles = ("core",) * self.n_core + ("noise",) * self.n_noise
        self.prior = np.full(self.n_classes, 1.0 / self.n_classes)
        self.means = spread_class_means(self.n_classes, self.n_core, self.n_noise, self.separation,
                                        contrast=self.mean_pattern == "contrast")
        lags = np.abs(np.subtract.outer(np.arange(self.n_core), np.arange(self.n_core)))
        self.cov = check_covariance("feature_correlation", linalg.block_diag(
            self.feature_correlation**lags, np.eye(self.n_noise)))

    def missing_probability(self, shift: float) -> float:
        """Probability that any one test value is missing at `shift`."""
        return interpolate(0.0, self.max_missing, shift)

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        q = self.missing_probability(shift)
        y = draw_labels(rng.random(n), self.prior)
        X = draw_gaussian(y, self.means, self.cov, rng)
        X[rng.random(X.shape) < q] = np.nan
        return Sample(X=X, y=y, roles=self.roles)

    # -- oracles -----------------------------------------------------------------------------
    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        observed = ~np.isnan(X)
        # group rows by missingness pattern (bit-packed, so the sort compares few bytes)
        _, first, inverse = np.unique(np.packbits(observed, axis=1), axis=0, return_index=True,
                                      return_inverse=True)
        inverse = inverse.ravel()
        log_lik = np.empty((len(X), self.n_classes))
        for index, row in enumerate(first):
            rows, cols = np.flatnonzero(inverse == index), np.flatnonzero(observed[row])
            log_lik[rows] = log_likelihoods(X[np.ix_(rows, cols)], self.means[:, cols],
                                            self.cov[np.ix_(cols, cols)])
        return posterior_from_log_likelihoods(log_lik, self.prior)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.posterior(X, shift)

    @cached_property
    def _pattern_accuracies(self) -> tuple[np.ndarray, np.ndarray]:
        """Number of observed core features and the Bayes accuracy, for every core pattern."""
        delta = self.means[1, : self.n_core] - self.means[0, : self.n_core]
        counts, accuracies = [], []
        for pattern in itertools.product((False, True), repeat=self.n_core):
            cols = np.flatnonzero(pattern)
            distance = (mahalanobis_distance(delta[cols], self.cov[np.ix_(cols, cols)])
                        if len(cols) else 0.0)
            counts.append(len(cols))
            accuracies.append(stats.norm.cdf(distance / 2.0))
        return np.array(counts), np.array(accuracies)

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.n_classes != 2 or self.n_core > EXACT_PATTERN_LIMIT:
            return None
        q = self.missing_probability(shift)
        observed, accuracies = self._pattern_accuracies
        weights = q ** (self.n_core - observed) * (1.0 - q) ** observed
        return float(weights @ accuracies)

    def invariant_accuracy(self, shift: float) -> float | None:
        return self.bayes_accuracy(shift)
