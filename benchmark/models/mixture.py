"""Class-conditional Gaussian mixtures, the number of components chosen by BIC per class.

Features are standardised with the pooled training mean and standard deviation (so that
``reg_covar``, added to every component's variances, means the same thing on every feature).
For each class, mixtures with 1..``max_components`` components are fitted with EM (k-means++
initialisation, one start) and the one with the lowest BIC on that class's training rows is kept.
A candidate with more free parameters than the class has rows is not fitted (BIC could not pick
it and EM would only fit noise), so in high dimension with few rows the model is one Gaussian per
class; one component is always a candidate. A class with a single training row (learning curves)
gets one Gaussian centred on it with covariance ``reg_covar * I``, the EM answer in that limit.
Missing features at predict time are marginalised
exactly: the marginal of a Gaussian mixture is the mixture of the components' marginals.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from spurbench.evaluation.scaling import standardizer
from spurbench.models.class_conditional import ClassConditionalClassifier, log_scale_correction
from spurbench.models.gaussian_marginal import (
    diagonal_gaussian_log_density,
    gaussian_log_density,
    sample_gaussian,
)

COVARIANCE_TYPES = ("full", "diag")


def _parameters_per_component(d: int, covariance_type: str) -> int:
    """Free parameters one more component adds: its weight, mean and covariance."""
    covariance = d * (d + 1) // 2 if covariance_type == "full" else d
    return 1 + d + covariance


class GaussianMixtureClassifier(ClassConditionalClassifier):
    """One Gaussian mixture per class (1..max_components components, chosen by BIC).

    Parameters
    ----------
    max_components : the largest number of components tried per class.
    covariance_type : "full" or "diag", for every component.
    reg_covar : added to the diagonal of each covariance, in standardised units.
    random_state : seeds the EM initialisations.

    Attributes
    ----------
    weights_, means_, covariances_ : per class, its mixture's component weights (k,), means
        (k, d) and covariances ((k, d, d) for "full", (k, d) variances for "diag"), all on
        standardised features.
    n_components_ : (n_classes,) the number of components BIC chose.
    """

    marginalises_missing = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "max_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "reg_covar": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, max_components: int = 3, covariance_type: str = "full",
                 reg_covar: float = 1e-3, random_state: int | None = None):
        self.max_components = max_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _fit_one(self, X: np.ndarray, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
        """(weights, means, covariances) of the BIC-chosen mixture of one class's rows."""
        d = X.shape[1]
        if len(X) == 1:
            spread = np.eye(d) if self.covariance_type == "full" else np.ones(d)
            return np.ones(1), X.copy(), self.reg_covar * spread[None]
        per_component = _parameters_per_component(d, self.covariance_type)
        best, best_bic = None, np.inf
        for k in range(1, self.max_components + 1):
            if k > 1 and (k * per_component > X.shape[0]):
                break
            mixture = GaussianMixture(k, covariance_type=self.covariance_type,
                                      reg_covar=self.reg_covar, init_params="k-means++",
                                      random_state=rng).fit(X)
            bic = mixture.bic(X)
            if bic < best_bic:
                best, best_bic = mixture, bic
        return best.weights_, best.means_, best.covariances_

    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        rng = check_random_state(self.random_state)
        self.mean_, self.scale_ = standardizer(X)
        Z = (X - self.mean_) / self.scale_
        fitted = [self._fit_one(Z[y_index == k], rng) for k in range(len(self.classes_))]
        self.weights_, self.means_, self.covariances_ = map(list, zip(*fitted, strict=True))
        self.n_components_ = np.array([len(w) for w in self.weights_])

    def _component_log_density(self, Z: np.ndarray, k: int) -> np.ndarray:
        if self.covariance_type == "diag":
            return diagonal_gaussian_log_density(Z, self.means_[k], self.covariances_[k])
        return gaussian_log_density(Z, self.means_[k], self.covariances_[k])

    def class_log_density(self, X: np.ndarray) -> np.ndarray:
        X = self._validated(X)
        Z = (X - self.mean_) / self.scale_
        columns = [logsumexp(self._component_log_density(Z, k) + np.log(self.weights_[k]), axis=1)
                   for k in range(len(self.classes_))]
        return np.column_stack(columns) - log_scale_correction(X, self.scale_)[:, None]

    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        counts = rng.multinomial(n, self.weights_[k])
        draws = []
        for c, count in enumerate(counts):
            cov = self.covariances_[k][c]
            cov = np.diag(cov) if self.covariance_type == "diag" else cov
            draws.append(sample_gaussian(self.means_[k][c], cov, count, rng))
        Z = rng.permutation(np.vstack(draws))
        return self.mean_ + Z * self.scale_
