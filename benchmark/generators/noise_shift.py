"""`noise_shift`: test inputs are corrupted with growing severity (additive noise, rescaling).

The question: which classifiers stay accurate as their inputs get noisier, the tabular analogue
of the common-corruption benchmarks (ImageNet-C, CIFAR-10-C), which score a model on clean data
and on five severity levels of each corruption. Here severity is the shift level: a grid
0, 0.2, 0.4, 0.6, 0.8, 1 is "clean" plus five severities; 0, 0.25, 0.5, 0.75, 1 is clean plus four.

Clean data. ``n_classes`` equiprobable Gaussian classes with identity covariance over
``n_core`` core features, their means a regular simplex with every pair ``separation`` apart,
spread over all core features (two classes: -+separation/2 along the all-ones direction), plus
``n_noise`` standard-normal noise features that do not depend on y.

Corruption at shift s. ``X = scale(s) * X_clean + noise_sd(s) * eps`` with eps ~ N(0, I) and

* ``noise_sd(s) = s * max_noise``: additive Gaussian noise on every feature;
* ``scale(s)``: 1 for most features; a fixed subset of ``round(rescale_fraction * d)`` of the d
  features (chosen once by ``rescale_seed``, so the same features for every sample) is multiplied
  by ``1 + s * (rescale_factor - 1)`` (a contrast change).

Shift 0 is the clean training distribution; shift 1 adds noise of standard deviation
``max_noise`` and applies the full ``rescale_factor``. eps is drawn even at shift 0, so one rng
gives the same clean sample at every level (only the corruption grows).

Oracles. A corrupted class is still Gaussian: mean scale * mu_k, covariance
diag(scale^2) + noise_sd^2 I, common to all classes. `posterior` is exact at every shift. Two
classes: `bayes_accuracy` = Phi(Delta / 2), Delta the Mahalanobis distance under the corrupted
covariance. More classes: exact by 1-D quadrature while no core feature is rescaled (the core
covariance stays isotropic), otherwise None. No spurious features and the noise features are independent of
y and of the core block, so the invariant oracle equals the Bayes one.

Parameters
----------
n_classes : equiprobable classes (>= 2).
n_core : core features (>= 1 and >= n_classes - 1).
n_noise : noise features (>= 0).
separation : Euclidean distance between any two class means (> 0).
max_noise : standard deviation of the additive noise at shift 1 (>= 0).
rescale_fraction : share of the features whose contrast changes (in [0, 1]).
rescale_factor : their scale at shift 1 (> 0).
rescale_seed : picks the rescaled features, once (integer >= 0).
"""

from __future__ import annotations

import numpy as np
from spurbench.generators._gaussian import (
    draw_gaussian,
    log_likelihoods,
    mahalanobis_distance,
    posterior_from_log_likelihoods,
    spread_class_means,
)
from spurbench.generators._synthetic import binary_gaussian_accuracy, draw_labels, simplex_accuracy
from spurbench.generators.base import (
    MAX_SEED,
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
    interpolate,
)
from spurbench.registry import register_generator


@register_generator("noise_shift")
class NoiseShift(Generator):
    """Gaussian classes whose test inputs get noisier (and partly rescaled) as the shift grows."""

    def __init__(
        self,
        n_classes: int = 2,
        n_core: int = 4,
        n_noise: int = 0,
        separation: float = 3.0,
        max_noise: float = 1.5,
        rescale_fraction: float = 0.0,
        rescale_factor: float = 0.5,
        rescale_seed: int = 0,
    ):
        self.n_classes = check_int("n_classes", n_classes, minimum=2)
        self.n_core = check_int("n_core", n_core, minimum=max(1, self.n_classes - 1))
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.separation = check_real("separation", separation, minimum=0, exclusive_minimum=True)
        self.max_noise = check_real("max_noise", max_noise, minimum=0)
        self.rescale_fraction = check_probability("rescale_fraction", rescale_fraction)
        self.rescale_factor = check_real("rescale_factor", rescale_factor, minimum=0,
                                         exclusive_minimum=True)
        self.rescale_seed = check_int("rescale_seed", rescale_seed, minimum=0, maximum=MAX_SEED)
        self.roles = ("core",) * self.n_core + ("noise",) * self.n_noise
        d = len(self.roles)
        self.prior = np.full(self.n_classes, 1.0 / self.n_classes)
        self.clean_means = spread_class_means(self.n_classes, self.n_core, self.n_noise,
                                              self.separation)
        n_rescaled = round(self.rescale_fraction * d)
        self.rescaled = np.sort(np.random.default_rng(self.rescale_seed).permutation(d)[:n_rescaled])

    # -- the shift ---------------------------------------------------------------------------
    def noise_sd(self, shift: float) -> float:
        """Standard deviation of the additive corruption noise at `shift`."""
        return interpolate(0.0, self.max_noise, shift)

    def feature_scale(self, shift: float) -> np.ndarray:
        """(d,) multiplier of each clean feature at `shift` (1 except on the rescaled subset)."""
        scale = np.ones(len(self.roles))
        scale[self.rescaled] = interpolate(1.0, self.rescale_factor, shift)
        return scale

    def distribution(self, shift: float) -> tuple[np.ndarray, np.ndarray]:
        """Class means (K, d) and the shared covariance (d, d) of the corrupted data."""
        scale = self.feature_scale(shift)
        return self.clean_means * scale, np.diag(scale**2 + self.noise_sd(shift) ** 2)

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        scale, noise_sd = self.feature_scale(shift), self.noise_sd(shift)
        y = draw_labels(rng.random(n), self.prior)
        clean = draw_gaussian(y, self.clean_means, np.eye(len(self.roles)), rng)
        corruption = rng.standard_normal(clean.shape)
        return Sample(X=scale * clean + noise_sd * corruption, y=y, roles=self.roles)

    # -- oracles -----------------------------------------------------------------------------
    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        means, cov = self.distribution(shift)
        return posterior_from_log_likelihoods(log_likelihoods(X, means, cov), self.prior)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self.posterior(X, shift)

    def bayes_accuracy(self, shift: float) -> float | None:
        means, cov = self.distribution(shift)
        if self.n_classes == 2:
            return binary_gaussian_accuracy(mahalanobis_distance(means[1] - means[0], cov), 0.5)
        if self.rescale_factor == 1.0 or not np.any(self.rescaled < self.n_core):
            # the core block stays isotropic, with variance 1 + noise_sd^2
            return simplex_accuracy(self.n_classes, self.separation / np.sqrt(cov[0, 0]))
        return None

    def invariant_accuracy(self, shift: float) -> float | None:
        return self.bayes_accuracy(shift)
