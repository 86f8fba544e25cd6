"""`nb_misspecified`: a binary problem on which naive Bayes is wrong by construction (Ng & Jordan).

The question (Ng & Jordan, NIPS 2001): naive Bayes reaches its asymptotic error with far fewer
examples than logistic regression, but that asymptotic error is higher when its independence
assumption is false; where do the learning curves cross? By default this family is for
learning curves over ``n_train``, not for shift; ``shifted_latent_separation`` adds one.

Features, for y in {0, 1} with P(y = 1) = ``positive_fraction`` (mean sign s = -1 for y = 0,
+1 for y = 1):

* ``n_weak`` weakly informative independent features, x_j ~ N(s * weak_separation / 2, 1);
* ``n_copies`` copies of one latent signal l ~ N(s * latent_separation / 2, 1):
  c_i = l + copy_noise * e_i, e_i ~ N(0, 1), so the copies are strongly correlated within a class.

Naive Bayes treats the copies as independent evidence and counts the latent signal about
``n_copies`` times, drowning the weak features; logistic regression (a linear rule, exactly the
true one here) learns to share the latent's weight among the copies. Every class is Gaussian with
the same covariance (identity on the weak block, 11' + copy_noise^2 I on the copies), so
`posterior` is exact (linear log-odds) and `bayes_accuracy` is the closed form with Mahalanobis
distance Delta, Delta^2 = n_weak weak_separation^2 + latent_separation^2 n / (n + copy_noise^2)
(n = n_copies). `naive_bayes_accuracy` gives the accuracy Gaussian naive Bayes converges to as
n_train grows, also in closed form, so the size of the misspecification is known.

Shift: none by default. Every shift level draws the training distribution (the level is
validated, then ignored), so a scenario needs only ``levels = [0.0]``. With
``shifted_latent_separation`` set, the latent's separation moves linearly from
``latent_separation`` at shift 0 to it at shift 1 (0: the signal naive Bayes over-counts fades
away; -latent_separation: it reverses), the covariance unchanged, so the posterior and the Bayes
accuracy stay exact at every level; a shift-0 sample is the same as without it. All features
are core; the invariant oracle is the Bayes one.

Parameters
----------
n_weak : weakly informative independent features (>= 0).
weak_separation : distance between the class means of each weak feature (>= 0).
n_copies : copies of the latent signal (>= 1; 1 makes naive Bayes well specified, a control).
latent_separation : distance between the class means of the latent (> 0).
copy_noise : standard deviation of each copy's own noise (> 0).
positive_fraction : P(y = 1), in (0, 1).
shifted_latent_separation : the latent's separation at shift 1 (a finite number, or absent for
    no shift).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from spurbench.generators._gaussian import (
    check_covariance,
    draw_gaussian,
    linear_rule_accuracy,
    log_likelihoods,
    mahalanobis_distance,
    posterior_from_log_likelihoods,
)
from spurbench.generators._synthetic import binary_gaussian_accuracy, draw_labels
from spurbench.generators.base import (
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
    check_shift,
    interpolate,
)
from spurbench.registry import register_generator


@register_generator("nb_misspecified")
class NBMisspecified(Generator):
    """Weak independent features plus correlated copies of one latent: naive Bayes double-counts."""

    def __init__(
        self,
        n_weak: int = 20,
        weak_separation: float = 0.3,
        n_copies: int = 8,
        latent_separation: float = 1.5,
        copy_noise: float = 0.3,
        positive_fraction: float = 0.5,
        shifted_latent_separation: float | None = None,
    ):
        self.n_weak = check_int("n_weak", n_weak, minimum=0)
        self.weak_separation = check_real("weak_separation", weak_separation, minimum=0)
        self.n_copies = check_int("n_copies", n_copies, minimum=1)
        self.latent_separation = check_real("latent_separation", latent_separation, minimum=0,
                                            exclusive_minimum=True)
        self.copy_noise = check_real("copy_noise", copy_noise, minimum=0, exclusive_minimum=True)
        self.positive_fraction = check_probability("positive_fraction", positive_fraction,
                                                   open_interval=True)
        self.shifted_latent_separation = (
            None if shifted_latent_separation is None
            else check_real("shifted_latent_separation", shifted_latent_separation))
        self.n_classes = 2
        self.roles = ("core",) * (self.n_weak + self.n_copies)
        self.prior = np.array([1.0 - self.positive_fraction, self.positive_fraction])
        half = np.concatenate([np.full(self.n_weak, self.weak_separation / 2.0),
                               np.full(self.n_copies, self.latent_separation / 2.0)])
        self.means = np.vstack([-half, half])
        copies = np.ones((self.n_copies, self.n_copies)) + self.copy_noise**2 * np.eye(self.n_copies)
        self.cov = check_covariance("copy_noise", linalg.block_diag(np.eye(self.n_weak), copies))

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        means = self.means_at(shift)
        y = draw_labels(rng.random(n), self.prior)
        return Sample(X=draw_gaussian(y, means, self.cov, rng), y=y, roles=self.roles)

    def means_at(self, shift: float) -> np.ndarray:
        """(2, d) class means at `shift` (`means`, the training ones, when nothing shifts)."""
        check_shift(shift)
        if self.shifted_latent_separation is None:
            return self.means
        half = interpolate(self.latent_separation, self.shifted_latent_separation, shift) / 2.0
        means = self.means.copy()
        means[:, self.n_weak:] = np.array([[-half], [half]])
        return means

    # -- oracles -----------------------------------------------------------------------------
    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return posterior_from_log_likelihoods(log_likelihoods(X, self.means_at(shift), self.cov),
                                              self.prior)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.posterior(X, shift)

    def bayes_accuracy(self, shift: float) -> float:
        means = self.means_at(shift)
        delta = mahalanobis_distance(means[1] - means[0], self.cov)
        return binary_gaussian_accuracy(delta, self.positive_fraction)

    def invariant_accuracy(self, shift: float) -> float:
        return self.bayes_accuracy(shift)

    def naive_bayes_accuracy(self) -> float:
        """Accuracy that Gaussian naive Bayes converges to with unlimited training data.

        Its per-class, per-feature variances converge to diag(cov), so its log-odds become the
        linear rule with weights delta_j / cov_jj; that rule's accuracy is exact (two normal cdfs).
        """
        variances = np.diag(self.cov)
        weights = (self.means[1] - self.means[0]) / variances
        bias = (np.log(self.prior[1] / self.prior[0])
                - weights @ (self.means[1] + self.means[0]) / 2.0)
        return linear_rule_accuracy(weights, bias, self.means, self.cov, self.positive_fraction)
