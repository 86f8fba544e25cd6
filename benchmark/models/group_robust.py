"""Models trained with group labels (tag ``groups``): the reweighting baselines of Sagawa et al.

The harness passes the training groups (``Sample.group``, the pair (y, a) as one id) to ``fit`` as
``groups=`` only for models tagged ``groups``; no other model ever sees them. They are reference
models (tag ``reference``): they use information the paradigm panel does not have, so they stay out
of paradigm and group averages and appear beside them; and opt-in (``opt_in``): they run only in
the scenarios that name them.

Sagawa, Raghunathan, Koh & Liang (ICML 2020), "An investigation of why over-parameterization
exacerbates spurious correlations": with group-balanced reweighting, an unregularised linear model
that interpolates its training set (more features than rows) memorises the few minority examples
through the noise features instead of learning the core feature, and its worst-group accuracy
falls as the dimension grows; strong L2 regularisation, which prevents interpolation, restores it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from benchmark.registry import register_model

WEIGHTINGS = ("balanced", "upweight")
GROUP_TAGS = frozenset({"groups", "reference", "opt_in"})


def group_weights(groups: np.ndarray, y: np.ndarray, weighting: str, upweight: float) -> np.ndarray:
    """Per-row training weights, normalised to mean 1.

    ``balanced``: every group present gets the same total weight (weights ∝ 1 / group size).
    ``upweight``: rows of the minority group of their class (the smallest group within each
    class) weigh `upweight` times the others.
    """
    weights = np.ones(len(groups))
    if weighting == "balanced":
        _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        weights = 1.0 / counts[inverse]
    else:
        for c in np.unique(y):
            in_class = y == c
            values, counts = np.unique(groups[in_class], return_counts=True)
            if len(values) > 1:
                weights[in_class & (groups == values[np.argmin(counts)])] = upweight
    return weights / weights.mean()


class GroupWeightedLogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression on standardised features, trained with group weights when given groups.

    Parameters
    ----------
    C : inverse L2 strength (``np.inf``: unregularised, the maximum-likelihood fit).
    weighting : "balanced" (every group the same total weight) or "upweight" (minority groups
        times `upweight`).
    upweight : the minority factor of ``weighting="upweight"``.
    max_iter : lbfgs iterations.
    standardize : scale every feature to unit training variance first. It undoes a generator's
        1 / sqrt(n_noise) scaling of noise features: standardised, each noise feature weighs as
        much as a core one in the penalty, so L2 no longer prefers the few strong directions.

    Without ``groups`` it is plain (weighted-equally) logistic regression, so it honours
    scikit-learn's estimator contract.
    """

    def __init__(self, C: float = np.inf, weighting: str = "balanced", upweight: float = 5.0,
                 max_iter: int = 10_000, standardize: bool = True):
        self.C = C
        self.weighting = weighting
        self.upweight = upweight
        self.max_iter = max_iter
        self.standardize = standardize

    def fit(self, X, y, groups=None):
        X, y = validate_data(self, X, y)
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        weights = None if groups is None else group_weights(np.asarray(groups), y, self.weighting,
                                                            self.upweight)
        self.scaler_ = StandardScaler(with_mean=self.standardize, with_std=self.standardize).fit(X)
        self.logit_ = LogisticRegression(C=self.C, max_iter=self.max_iter).fit(
            self.scaler_.transform(X), y, sample_weight=weights)
        self.classes_, self.n_iter_ = self.logit_.classes_, self.logit_.n_iter_
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.logit_.predict_proba(self.scaler_.transform(X))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


@register_model("lr_mle_group_balanced", paradigm="discriminative", group="linear_discriminative",
                tags=GROUP_TAGS)
def lr_mle_group_balanced(random_state: int) -> GroupWeightedLogisticRegression:
    """Unregularised logistic regression, group-balanced weights, raw features (uses group labels).

    Every (y, a) group gets the same total weight; features as generated (Sagawa et al.'s
    setting); lbfgs, 10,000 iterations.
    """
    return GroupWeightedLogisticRegression(C=np.inf, weighting="balanced", standardize=False)


@register_model("lr_mle_upweighted", paradigm="discriminative", group="linear_discriminative",
                tags=GROUP_TAGS)
def lr_mle_upweighted(random_state: int) -> GroupWeightedLogisticRegression:
    """Unregularised logistic regression, minority groups weighted 5x, raw features (uses group labels).

    The smallest group of each class weighs 5 times the others.
    """
    return GroupWeightedLogisticRegression(C=np.inf, weighting="upweight", upweight=5.0,
                                           standardize=False)


@register_model("lr_l2_strong_group_balanced", paradigm="discriminative",
                group="linear_discriminative", tags=GROUP_TAGS)
def lr_l2_strong_group_balanced(random_state: int) -> GroupWeightedLogisticRegression:
    """Strongly L2-regularised (C=0.01) logistic regression, group-balanced weights, raw features.

    The regularised counterpart of `lr_mle_group_balanced`: the penalty keeps it from
    interpolating the training set through many weak noise directions (uses group labels).
    """
    return GroupWeightedLogisticRegression(C=0.01, weighting="balanced", standardize=False)


@register_model("lr_l2_strong_group_balanced_std", paradigm="discriminative",
                group="linear_discriminative", tags=GROUP_TAGS)
def lr_l2_strong_group_balanced_std(random_state: int) -> GroupWeightedLogisticRegression:
    """`lr_l2_strong_group_balanced` on standardised features (uses group labels).

    Standardising gives every noise feature unit variance, undoing the generator's 1/sqrt(N)
    scaling: shown beside the raw-feature fit to measure that interaction.
    """
    return GroupWeightedLogisticRegression(C=0.01, weighting="balanced", standardize=True)
