"""`gaussian_spurious`: core features that depend on the label, spurious ones tied to an attribute.

The label y in {0..K-1} moves the mean of the core block; an attribute a in {0..K-1} moves the
mean of the spurious block. a equals y with probability ``rho(shift)``, otherwise it is uniform
over the other K-1 values:

* shift 0: ``rho = train_correlation`` (the training distribution);
* shift 1: ``rho = 1 - train_correlation`` (the correlation is reversed);
* linear in between. a is independent of y where rho = 1/K (shift 0.5 when K = 2).

Parameters
----------
train_correlation : P(a = y) in training, in [0, 1].
n_classes : K >= 2. With K > 2 the classes are equiprobable and the class (attribute) means sit on
    a regular simplex, every pair `core_separation` (`spurious_separation`) apart.
n_core, n_spurious, n_noise : widths of the three blocks; n_core >= K-1, and n_spurious is 0 or
    >= K-1 (a simplex needs K-1 dimensions). Noise features are N(0, 1), independent of all else.
core_separation : Mahalanobis distance between any two class means of the core block (> 0): its
    signal-to-noise ratio, whatever `feature_correlation` is.
spurious_separation : the same for the attribute means of the (isotropic) spurious block (>= 0).
positive_fraction : P(y = 1) when K = 2, in (0, 1); must stay 0.5 when K > 2.
feature_correlation : within-class correlation r between any two core features (equicorrelation
    Sigma = (1-r) I + r 11'), in (-1/(n_core-1), 1); needs n_core >= 2 unless 0. Naive Bayes
    treats the correlated features as independent evidence and double-counts them.
shape : class-conditional law of the core block, breaking the Gaussian assumption of LDA / QDA:
    ``"gaussian"``: N(mu_y, Sigma);
    ``"student_t"``: multivariate t with `df` degrees of freedom, location mu_y and scale Sigma
    (one chi-square draw per example scales the whole block: heavy, jointly dependent tails);
    ``"mixture"``: an equal mixture of N(mu_y +- mixture_offset * v_y, Sigma), where v_y is the
    unit vector (in Sigma's metric) from the centre of the class means through mu_y. The class
    mean is unchanged, but each class is bimodal along its own discriminant axis, and once
    `mixture_offset` exceeds the distance from the centre to mu_y its inner component crosses
    the centre, so the Bayes rule is no longer linear.
df : degrees of freedom of ``"student_t"`` (> 0; ignored by the other shapes).
mixture_offset : half the distance between the two components of ``"mixture"`` (>= 0; ignored by
    the other shapes).

Geometry: class means are simplex vertices (two classes: -/+ core_separation/2) laid along the
first DCT basis vectors of the block (the first is the all-ones direction, so every feature
carries signal), then multiplied by Sigma^(1/2), which keeps every pairwise Mahalanobis distance
equal to `core_separation`. The spurious block is built the same way with Sigma = I.

Oracles: the posterior is exact for every option (the spurious block enters as a mixture over a).
Bayes and core-only accuracies are exact where a formula exists: K = 2 Gaussian (Phi of half the
Mahalanobis distance for the core block; one 1-D quadrature over the spurious projection for
both blocks, ~1e-9) and the core-only accuracy of K > 2 equiprobable Gaussian classes (1-D
quadrature). Otherwise they are None and the `bayes_oracle` rows give a Monte-Carlo value.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy import special
from spurbench.errors import ParameterError
from spurbench.generators._synthetic import (
    attribute_log_mixture,
    binary_gaussian_accuracy,
    binary_spurious_gaussian_accuracy,
    draw_labels,
    simplex_accuracy,
    simplex_means,
    spread_basis,
)
from spurbench.generators.base import (
    Generator,
    Sample,
    agreement,
    check_choice,
    check_int,
    check_probability,
    check_real,
    counterfactual_attribute,
    draw_attribute,
)
from spurbench.registry import register_generator

SHAPES = ("gaussian", "student_t", "mixture")


def _counterfactual(X: np.ndarray, spurious: slice, attr: np.ndarray,
                    attribute_means: np.ndarray) -> np.ndarray:
    """X after the intervention on the attribute: the spurious block moved from its attribute's
    mean to the counterfactual attribute's, its noise kept (computed when a test scores it)."""
    k = len(attribute_means)
    moves = np.take(attribute_means, counterfactual_attribute(np.arange(k), k), axis=0) - attribute_means
    X_cf = X.copy()
    X_cf[:, spurious] += np.take(moves, attr, axis=0)
    return X_cf


def _check_feature_correlation(value: object, n_core: int) -> float:
    r = check_real("feature_correlation", value)
    if r == 0.0:
        return r
    if n_core < 2:
        raise ParameterError("feature_correlation", f"needs n_core >= 2 to correlate, got {value!r}")
    lower = -1.0 / (n_core - 1)
    if not lower < r < 1.0:
        raise ParameterError("feature_correlation",
                             f"must be strictly between {lower:g} and 1 (where an equicorrelation "
                             f"matrix of {n_core} features is positive definite), got {value!r}")
    return r


@register_generator("gaussian_spurious")
class GaussianSpurious(Generator):
    """Core features tied to y, spurious ones tied to an attribute whose agreement with y reverses."""

    def __init__(
        self,
        train_correlation: float = 0.9,
        n_core: int = 1,
        n_spurious: int = 1,
        n_noise: int = 0,
        core_separation: float = 2.0,
        spurious_separation: float = 4.0,
        positive_fraction: float = 0.5,
        n_classes: int = 2,
        feature_correlation: float = 0.0,
        shape: str = "gaussian",
        df: float = 3.0,
        mixture_offset: float = 1.5,
    ):
        self.train_correlation = check_probability("train_correlation", train_correlation)
        self.n_classes = k = check_int("n_classes", n_classes, minimum=2)
        self.n_core = check_int("n_core", n_core, minimum=max(1, k - 1))
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=0)
        if 0 < self.n_spurious < k - 1:
            raise ParameterError("n_spurious", f"must be 0 or >= n_classes - 1 = {k - 1}, got {n_spurious!r}")
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.core_separation = check_real("core_separation", core_separation, minimum=0,
                                          exclusive_minimum=True)
        self.spurious_separation = check_real("spurious_separation", spurious_separation, minimum=0)
        self.positive_fraction = check_probability("positive_fraction", positive_fraction,
                                                   open_interval=True)
        if k > 2 and self.positive_fraction != 0.5:
            raise ParameterError("positive_fraction", "applies to two classes only; with n_classes > 2 "
                                 f"the classes are equiprobable, got {positive_fraction!r}")
        self.feature_correlation = _check_feature_correlation(feature_correlation, self.n_core)
        self.shape = check_choice("shape", shape, SHAPES)
        self.df = check_real("df", df, minimum=0, exclusive_minimum=True)
        self.mixture_offset = check_real("mixture_offset", mixture_offset, minimum=0)

        self.prior = np.array([1 - self.positive_fraction, self.positive_fraction]) if k == 2 else (
            np.full(k, 1.0 / k))
        self.roles = ("core",) * self.n_core + ("spurious",) * self.n_spurious + (
            "noise",) * self.n_noise
        self._core = slice(0, self.n_core)
        self._spurious = slice(self.n_core, self.n_core + self.n_spurious)
        self._core_means = simplex_means(k, self.core_separation)
        self._core_basis = spread_basis(self.n_core, k - 1)
        self._radius = float(np.linalg.norm(self._core_means[0]))
        self._attribute_means = (
            simplex_means(k, self.spurious_separation) @ spread_basis(self.n_spurious, k - 1).T
            if self.n_spurious else np.zeros((k, 0)))

    # -- the distribution ------------------------------------------------------------------
    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift`."""
        return agreement(self.train_correlation, shift)

    def class_means(self) -> np.ndarray:
        """(K, n_core) centres of the classes in the core block (means; t locations)."""
        return self._correlate(self._core_means @ self._core_basis.T, 0.5)

    def core_covariance(self) -> np.ndarray:
        """Sigma: the within-class covariance of the core block (the t scale matrix; the
        covariance of each mixture component)."""
        r = self.feature_correlation
        return (1.0 - r) * np.eye(self.n_core) + r

    def attribute_means(self) -> np.ndarray:
        """(K, n_spurious) means of the spurious block for each attribute value (unit covariance)."""
        return self._attribute_means

    @property
    def _has_spurious_signal(self) -> bool:
        return bool(self.n_spurious) and self.spurious_separation > 0.0

    def _correlate(self, w: np.ndarray, power: float) -> np.ndarray:
        """Sigma^power @ each row of the core block (Sigma is equicorrelated: O(n_core) per row)."""
        r = self.feature_correlation
        if r == 0.0:
            return w
        base, top = (1.0 - r) ** power, (1.0 + (self.n_core - 1) * r) ** power
        return base * w + (top - base) * w.mean(axis=1, keepdims=True)

    def _block_means(self) -> np.ndarray:
        """(K * K, n_core + n_spurious): row K * y + a is class y's core mean beside attribute a's
        spurious mean, so one gather by group moves both blocks (they are the first columns)."""
        k = self.n_classes
        core = self._core_means @ self._core_basis.T
        return np.hstack([np.repeat(core, k, axis=0), np.tile(self.attribute_means(), (k, 1))])

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        """Drawn in the final layout: one standard normal fill of X, then the block means added in
        place with one gather by group (no full-width temporaries: this runs on every sample)."""
        rho = self.agreement(shift)
        y = draw_labels(rng.random(n), self.prior)
        attr = draw_attribute(y, rho, self.n_classes, rng)
        group = self.n_classes * y + attr
        X = rng.standard_normal((n, len(self.roles)))
        core, spurious = X[:, self._core], X[:, self._spurious]
        if self.shape == "student_t":
            core /= np.sqrt(rng.chisquare(self.df, n) / self.df)[:, None]
        if self.shape == "mixture":
            side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
            scale = (1.0 + side * self.mixture_offset / self._radius)[:, None]
            core += (self._core_means[y] * scale) @ self._core_basis.T
            spurious += np.take(self.attribute_means(), attr, axis=0)
        else:
            blocks = X[:, :self.n_core + self.n_spurious]
            blocks += np.take(self._block_means(), group, axis=0)
        if self.feature_correlation != 0.0:
            core[...] = self._correlate(core, 0.5)
        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=group,
                      X_counterfactual=partial(_counterfactual, X, self._spurious, attr,
                                               self.attribute_means()))

    # -- oracles ---------------------------------------------------------------------------
    def _core_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log P(core block | y), (n, K), up to a term shared by every class."""
        w = self._correlate(X[:, self._core], -0.5)
        cross = w @ self._core_basis @ self._core_means.T
        radius = self._radius
        if self.shape == "gaussian":
            return cross - radius**2 / 2
        if self.shape == "mixture":
            a, c = self.mixture_offset / radius, self.mixture_offset
            return np.logaddexp((1 + a) * cross - (radius + c) ** 2 / 2,
                                (1 - a) * cross - (radius - c) ** 2 / 2)
        squared = (w**2).sum(axis=1, keepdims=True) - 2 * cross + radius**2
        return -(self.df + self.n_core) / 2 * np.log1p(squared / self.df)

    def _log_joint(self, X: np.ndarray, shift: float, *, core_only: bool) -> np.ndarray:
        log_joint = np.log(self.prior) + self._core_log_likelihood(X)
        if not core_only and self._has_spurious_signal:
            cross = X[:, self._spurious] @ self.attribute_means().T
            log_joint = log_joint + attribute_log_mixture(cross, self.agreement(shift))
        return log_joint

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._log_joint(X, shift, core_only=False), axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return special.softmax(self._log_joint(X, shift, core_only=True), axis=1)

    def bayes_accuracy(self, shift: float) -> float | None:
        if self.shape != "gaussian":
            return None
        if self.n_classes == 2:
            separation = self.spurious_separation if self.n_spurious else 0.0
            return binary_spurious_gaussian_accuracy(self.core_separation, separation,
                                                     self.agreement(shift), self.positive_fraction)
        return None if self._has_spurious_signal else self.invariant_accuracy(shift)

    def invariant_accuracy(self, shift: float) -> float | None:
        if self.shape != "gaussian":
            return None
        if self.n_classes == 2:
            return binary_gaussian_accuracy(self.core_separation, self.positive_fraction)
        return simplex_accuracy(self.n_classes, self.core_separation)
