"""`group_shift`: Waterbirds-style subpopulation shift between four groups (y, a).

Each class y in {0, 1} has a "usual" attribute a = y (waterbirds on water backgrounds): within
each class the usual group has share ``s(shift)`` and the unusual (minority) group ``1 - s``:

* shift 0: ``s = majority_share`` (e.g. 0.95: the minority groups are 5% of each class);
* shift 1: ``s = 1 - majority_share`` (the minority groups have become the majority);
* linear in between; shift 0.5 gives balanced groups within each class.

The group shares P(y, a) = P(y) P(a | y) are the statistic the shift controls (`group_shares`).

Features follow the synthetic Waterbirds of Sagawa et al. (2020, "An investigation of why
over-parameterization exacerbates spurious correlations"): every core feature is
N(+-1, core_noise^2) with the sign of y, every spurious feature N(+-1, spurious_noise^2) with the
sign of a, and noise features are N(0, noise_scale^2 / n_noise), so their total energy stays fixed
while `n_noise` grows the dimension (the over-parameterisation knob).

Parameters
----------
majority_share : share of the usual group within each class in training, in [0, 1].
n_core, n_spurious : widths of the core and spurious blocks (>= 1 each).
n_noise : number of pure-noise features (>= 0).
core_noise, spurious_noise : per-feature standard deviation of the core / spurious block (> 0).
    The spurious block is the easier one when spurious_noise / sqrt(n_spurious) is the smaller.
noise_scale : total standard deviation of the noise block (> 0).
positive_fraction : P(y = 1), in (0, 1).

This is the `gaussian_spurious` model in other coordinates: the block projections have unit
variance and Mahalanobis separations 2 sqrt(n_core) / core_noise and 2 sqrt(n_spurious) /
spurious_noise, so the exact posterior and the Bayes (1-D quadrature) and core-only (closed form)
accuracies are delegated to it after rescaling the features.
"""

from __future__ import annotations

import numpy as np
from spurbench.generators.base import (
    Generator,
    Sample,
    check_int,
    check_probability,
    check_real,
)
from spurbench.generators.gaussian_spurious import GaussianSpurious
from spurbench.registry import register_generator


@register_generator("group_shift")
class GroupShift(Generator):
    """Four groups (y, a); the minority groups of training become the majority under shift."""

    def __init__(
        self,
        majority_share: float = 0.95,
        n_core: int = 2,
        n_spurious: int = 2,
        n_noise: int = 0,
        core_noise: float = 1.5,
        spurious_noise: float = 0.5,
        noise_scale: float = 1.0,
        positive_fraction: float = 0.5,
    ):
        self.majority_share = check_probability("majority_share", majority_share)
        self.n_core = check_int("n_core", n_core, minimum=1)
        self.n_spurious = check_int("n_spurious", n_spurious, minimum=1)
        self.n_noise = check_int("n_noise", n_noise, minimum=0)
        self.core_noise = check_real("core_noise", core_noise, minimum=0, exclusive_minimum=True)
        self.spurious_noise = check_real("spurious_noise", spurious_noise, minimum=0,
                                         exclusive_minimum=True)
        self.noise_scale = check_real("noise_scale", noise_scale, minimum=0, exclusive_minimum=True)
        self.positive_fraction = check_probability("positive_fraction", positive_fraction,
                                                   open_interval=True)
        self.n_classes = 2
        self._standard = GaussianSpurious(
            train_correlation=self.majority_share,
            n_core=self.n_core,
            n_spurious=self.n_spurious,
            n_noise=self.n_noise,
            core_separation=2.0 * np.sqrt(self.n_core) / self.core_noise,
            spurious_separation=2.0 * np.sqrt(self.n_spurious) / self.spurious_noise,
            positive_fraction=self.positive_fraction,
        )
        self.roles = self._standard.roles
        # per-column scale taking the standardised model's features to this family's
        self._scale = np.concatenate([
            np.full(self.n_core, self.core_noise),
            np.full(self.n_spurious, self.spurious_noise),
            np.full(self.n_noise, self.noise_scale / np.sqrt(max(self.n_noise, 1))),
        ])

    def usual_share(self, shift: float) -> float:
        """Share of the usual group (a = y) within each class at `shift`."""
        return self._standard.agreement(shift)

    def group_shares(self, shift: float) -> np.ndarray:
        """P(group) at `shift`, indexed by group id 2 y + a."""
        s, pi1 = self.usual_share(shift), self.positive_fraction
        return np.array([(1 - pi1) * s, (1 - pi1) * (1 - s), pi1 * (1 - s), pi1 * s])

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        standard = self._standard.sample(n, shift, rng)
        return Sample(X=standard.X * self._scale, y=standard.y, roles=self.roles,
                      attr=standard.attr, group=standard.group,
                      X_counterfactual=standard.X_counterfactual * self._scale)

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self._standard.posterior(X / self._scale, shift)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return self._standard.invariant_posterior(X / self._scale, shift)

    def bayes_accuracy(self, shift: float) -> float:
        return self._standard.bayes_accuracy(shift)

    def invariant_accuracy(self, shift: float) -> float:
        return self._standard.invariant_accuracy(shift)
