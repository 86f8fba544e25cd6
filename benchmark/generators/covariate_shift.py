"""`covariate_shift`: P(x) moves away from the training support while P(y | x) stays fixed.

The question: when test inputs fall where training inputs were rare, which classifiers
extrapolate a curved labelling rule well? A model can be excellent on the training support and
still be wrong beyond it, because the rule it learnt only looked linear there.

Features. ``n_core`` core features (at least 2) and ``n_noise`` noise features, all independent
normal. Feature 0 is the "shifted" feature u; features 1..n_core-1 enter the label through their
normalised sum z = (x_1 + ... + x_{n_core-1}) / sqrt(n_core - 1). Noise features never enter it.

Labelling rule (independent of the shift). The score

    f(x) = z - curvature * h(u),   h(u) = sin(frequency * u)  (boundary = "sine")
                                   h(u) = u**2 - 1            (boundary = "quadratic")

is cut into ``n_classes`` ordered bands with logistic label noise: y counts the cut points
theta_k that f + eps / sharpness exceeds, eps ~ Logistic(0, 1). So
P(y <= k - 1 | x) = sigmoid(sharpness * (theta_k - f(x))), and for two classes
P(y = 1 | x) = sigmoid(sharpness * f(x)). The cut points are theta_k = s0 * Phi^-1(k / K), with s0
the standard deviation of f under the training distribution, so the training classes are roughly
balanced. Near u = 0 both boundaries are almost straight; they bend away from it.

Shift. Under shift s every feature is normal with standard deviation
``scale(s) = 1 + s * (max_scale - 1)``; u has mean ``translation(s) = s * max_translation``, the
others mean 0. Shift 0 is the training distribution N(0, I); shift 1 moves u by
``max_translation`` training standard deviations and rescales every feature by ``max_scale``;
linear in between. P(y | x) never changes: only P(x), and with it P(y), moves.

Oracles. `posterior` is the labelling rule itself (the same at every shift). There are no
spurious features, and noise features carry no information, so the invariant oracle is the
Bayes oracle: `invariant_posterior` equals `posterior`. The Bayes accuracy E[max_k P(k | x)] has
no closed form; `bayes_accuracy` returns None and the bayes_oracle rows give its Monte-Carlo value.

Parameters
----------
n_classes : number of ordered classes (>= 2).
n_core : core features (>= 2): u and the features of z.
n_noise : noise features (>= 0).
boundary : "sine" or "quadratic", the shape h(u) of the boundary.
curvature : weight of h(u) (>= 0; 0 makes the rule linear, a control where covariate shift
    should be harmless to a linear model).
frequency : of the sine boundary (> 0; sine only).
sharpness : of the logistic label noise (> 0; larger = less label noise).
max_translation : the shift of u at shift 1, in training standard deviations (any finite number;
    its sign picks the direction).
max_scale : the spread of every feature at shift 1, relative to training (> 0).
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats
from spurbench.generators.base import (
    Generator,
    Sample,
    check_choice,
    check_int,
    check_real,
    check_shift,
    interpolate,
)
from spurbench.registry import register_generator

BOUNDARIES = ("sine", "quadratic")


@register_generator("covariate_shift")
class CovariateShift(Generator):
    """Inputs translate/rescale away from the training support; the curved labelling rule stays."""

    def __init__(
        self,
        n_classes: int = 2,
        n_core: int = 2,
        n_noise: int = 0,
        boundary: str = "sine",
        curvature: float = 1.5,
        frequency: float = 1.0,
        sharpness: float = 5.0,
        max_translation: float = 3.0,
        max_scale: float = 1.0,
    ):
        self.n_classes = check_int("n_classes", n_classes, minimum=2)
        self.n_core = check_int("n_core", n_core, minimum=2)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.boundary = check_choice("boundary", boundary, BOUNDARIES)
        self.curvature = check_real("curvature", curvature, minimum=0)
        self.frequency = check_real("frequency", frequency, minimum=0, exclusive_minimum=True)
        self.sharpness = check_real("sharpness", sharpness, minimum=0, exclusive_minimum=True)
        self.max_translation = check_real("max_translation", max_translation)
        self.max_scale = check_real("max_scale", max_scale, minimum=0, exclusive_minimum=True)
        self.roles = ("core",) * self.n_core + ("noise",) * self.n_noise
        k = np.arange(1, self.n_classes)
        self.cut_points = self._training_score_sd() * stats.norm.ppf(k / self.n_classes)

    # -- the shift ---------------------------------------------------------------------------
    def translation(self, shift: float) -> float:
        """Mean of the shifted feature u at `shift`."""
        return interpolate(0.0, self.max_translation, shift)

    def scale(self, shift: float) -> float:
        """Standard deviation of every feature at `shift`."""
        return interpolate(1.0, self.max_scale, shift)

    # -- the labelling rule ------------------------------------------------------------------
    def _bend(self, u: np.ndarray) -> np.ndarray:
        if self.boundary == "sine":
            return np.sin(self.frequency * u)
        return u**2 - 1.0

    def _training_score_sd(self) -> float:
        """sd of f under N(0, I): Var z = 1 plus curvature^2 Var h(u), u ~ N(0, 1)."""
        # E sin^2(w u) = (1 - E cos(2 w u)) / 2 = (1 - exp(-2 w^2)) / 2;  Var(u^2) = 2
        sine = self.boundary == "sine"
        var_bend = (1.0 - np.exp(-2.0 * self.frequency**2)) / 2.0 if sine else 2.0
        return float(np.sqrt(1.0 + self.curvature**2 * var_bend))

    def score(self, X: np.ndarray) -> np.ndarray:
        """The latent score f(x) = z - curvature * h(u) that the labels threshold."""
        z = X[:, 1 : self.n_core].sum(axis=1) / np.sqrt(self.n_core - 1)
        return z - self.curvature * self._bend(X[:, 0])

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        X = self.scale(shift) * rng.standard_normal((n, len(self.roles)))
        X[:, 0] += self.translation(shift)
        noisy = self.score(X) + rng.logistic(size=n) / self.sharpness
        y = (noisy[:, None] > self.cut_points[None, :]).sum(axis=1).astype(np.int64)
        return Sample(X=X, y=y, roles=self.roles)

    # -- oracles -----------------------------------------------------------------------------
    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        check_shift(shift)
        below = special.expit(self.sharpness * (self.cut_points[None, :] - self.score(X)[:, None]))
        n = len(X)
        cumulative = np.column_stack([np.zeros(n), below, np.ones(n)])  # P(y <= k - 1 | x)
        return np.diff(cumulative, axis=1)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.posterior(X, shift)
