"""`label_shift`: the class prior P(y) moves while every class-conditional P(x | y) stays fixed.

* shift 0: ``P(y) = train_prior`` (the training distribution);
* shift 1: ``P(y) = target_prior``;
* linear in between: ``P(y) = (1 - shift) train_prior + shift target_prior``.

Parameters
----------
train_prior, target_prior : class probabilities, as a list (K >= 2 classes, summing to 1) or, for
    two classes, a scalar P(y = 1). Both must have the same number of classes. Every training
    probability must be positive (each class needs training examples); a target may drop a class.
n_core : number of informative features (>= K-1).
separation : Mahalanobis distance between any two class means (> 0). Classes are unit-covariance
    Gaussians whose means sit on a regular simplex spread over the core block (two classes:
    -/+ separation/2 along the all-ones direction).
n_noise : number of N(0, 1) features independent of y (>= 0).

There is no spurious feature (roles are core and noise), so the invariant oracle is the Bayes one.
The posterior at each shift uses that shift's prior, so it is the best any rule can do when it is
told the new prior; models tagged ``prior_shift`` can estimate it without labels by EM
(`prior_adaptation` tells the harness to score them that way too). The Bayes accuracy is in closed
form for two classes (Phi-based, priors included) and None for more (the bayes_oracle rows give
the Monte-Carlo value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special
from spurbench.errors import ParameterError
from spurbench.generators._synthetic import (
    binary_gaussian_accuracy,
    draw_labels,
    simplex_means,
    spread_basis,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
    check_shift,
)
from spurbench.registry import register_generator

SUM_TOLERANCE = 1e-6


def check_prior(name: str, value: Any, *, positive: bool) -> np.ndarray:
    """Class probabilities from a list, or from a scalar P(y = 1) for two classes."""
    if isinstance(value, list | tuple | np.ndarray):
        if len(value) < 2:
            raise ParameterError(name, f"must list at least two class probabilities, got {value!r}")
        prior = np.array([check_probability(name, v) for v in value])
        if abs(prior.sum() - 1.0) > SUM_TOLERANCE:
            raise ParameterError(name, f"must sum to 1, got {value!r} (sum {prior.sum():.6g})")
    else:
        p1 = check_probability(name, value)
        prior = np.array([1.0 - p1, p1])
    if positive and not (prior > 0).all():
        raise ParameterError(name, f"every class needs a positive probability, got {value!r}")
    return prior / prior.sum()


@register_generator("label_shift")
class LabelShift(Generator):
    """Fixed Gaussian classes; the class prior moves from the training one to a target one."""

    prior_adaptation = True

    def __init__(
        self,
        train_prior: float | list[float] = 0.5,
        target_prior: float | list[float] = 0.1,
        n_core: int = 2,
        separation: float = 2.0,
        n_noise: int = 0,
    ):
        self.train_prior = check_prior("train_prior", train_prior, positive=True)
        self.target_prior = check_prior("target_prior", target_prior, positive=False)
        self.n_classes = k = len(self.train_prior)
        if len(self.target_prior) != k:
            raise ParameterError("target_prior", f"must have as many classes as train_prior ({k}), "
                                 f"got {target_prior!r}")
        self.n_core = check_int("n_core", n_core, minimum=max(1, k - 1))
        self.separation = check_real("separation", separation, minimum=0, exclusive_minimum=True)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.roles = ("core",) * self.n_core + ("noise",) * self.n_noise
        self._means = simplex_means(k, self.separation) @ spread_basis(self.n_core, k - 1).T

    def prior(self, shift: float) -> np.ndarray:
        """P(y) at `shift`."""
        s = check_shift(shift)
        return (1.0 - s) * self.train_prior + s * self.target_prior

    def class_means(self) -> np.ndarray:
        """(K, n_core) means of the core block per class (the covariance is the identity)."""
        return self._means

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        y = draw_labels(rng.random(n), self.prior(shift))
        X = rng.standard_normal((n, len(self.roles)))
        X[:, : self.n_core] += self._means[y]
        return Sample(X=X, y=y, roles=self.roles)

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        # the simplex means all have the same norm, so -|mean|^2 / 2 cancels between classes
        with np.errstate(divide="ignore"):
            log_prior = np.log(self.prior(shift))
        return special.softmax(log_prior + X[:, : self.n_core] @ self._means.T, axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.posterior(X, shift)

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.n_classes != 2:
            return None
        return binary_gaussian_accuracy(self.separation, float(self.prior(shift)[1]))

    def invariant_accuracy(self, shift: float) -> float | None:
        return self.bayes_accuracy(shift)
