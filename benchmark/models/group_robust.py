"""Models trained with group labels (tag ``groups``): reweighting and group DRO baselines.

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

The robust-training baselines of the model-selection experiment (tuned like the panel, see
benchmark/evaluation/selection.py): group-balanced reweighting of any estimator that takes sample weights
(`GroupBalanced`), group DRO for logistic regression (`GroupDROLogisticRegression`), and the
generative counterpart, Gaussian class-conditionals fitted with class-and-group-balanced weights
and uniform class priors (`GroupBalancedGaussian`).
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from spurbench.models.gaussian_marginal import GaussianClassifier
from spurbench.registry import register_model

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

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="right")],  # np.inf: unregularised
        "weighting": [StrOptions(set(WEIGHTINGS))],
        "upweight": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "standardize": ["boolean"],
    }

    def __init__(self, C: float = np.inf, weighting: str = "balanced", upweight: float = 5.0,
                 max_iter: int = 10_000, standardize: bool = True):
        self.C = C
        self.weighting = weighting
        self.upweight = upweight
        self.max_iter = max_iter
        self.standardize = standardize

    def fit(self, X, y, groups=None):
        self._validate_params()
        X, y = validate_data(self, X, y)
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


class GroupDROLogisticRegression(GroupWeightedLogisticRegression):
    """Group DRO (Sagawa et al., 2020) for L2 logistic regression on standardised features.

    A batch form of their online algorithm: `rounds` times, fit the logistic regression with
    each group's rows weighted by q_g / n_g (warm-started), then raise the weight of the groups
    with the highest mean training log-loss, q_g <- q_g exp(eta * loss_g), normalised. The fit
    minimises the q-weighted loss; q concentrates on the worst group. Without ``groups`` it is
    plain logistic regression.

    Parameters
    ----------
    C : inverse L2 strength, as `LogisticRegression`'s.
    eta : step size of the exponentiated-gradient update of the group weights.
    rounds : alternations of the two steps.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="right")],  # np.inf: unregularised
        "eta": [Interval(Real, 0, None, closed="left")],
        "rounds": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, C: float = 1.0, eta: float = 1.0, rounds: int = 30, max_iter: int = 1000):
        super().__init__(C=C, weighting="balanced", max_iter=max_iter, standardize=True)
        self.eta = eta
        self.rounds = rounds

    def fit(self, X, y, groups=None):
        if groups is None:
            return super().fit(X, y)
        self._validate_params()
        X, y = validate_data(self, X, y)
        _, index, counts = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        logit = LogisticRegression(C=self.C, max_iter=self.max_iter, warm_start=True)
        q = np.full(len(counts), 1.0 / len(counts))
        for _ in range(self.rounds):
            logit.fit(Z, y, sample_weight=len(y) * q[index] / counts[index])
            proba = logit.predict_proba(Z)[np.arange(len(y)), np.searchsorted(logit.classes_, y)]
            loss = np.bincount(index, -np.log(np.clip(proba, 1e-12, None))) / counts
            q = q * np.exp(self.eta * (loss - loss.max()))  # shifted: the same after normalising
            q /= q.sum()
        self.logit_, self.group_weights_ = logit, q
        self.classes_, self.n_iter_ = logit.classes_, logit.n_iter_
        return self


class GroupBalanced(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """`estimator` trained with group-balanced sample weights (every (y, a) group the same total
    weight); a pipeline's weights go to its last step. Without ``groups``, `estimator` as is."""

    def __init__(self, estimator: object):
        self.estimator = estimator

    def fit(self, X, y, groups=None):
        self.estimator_ = clone(self.estimator)
        weights = {}
        if groups is not None:
            last = self.estimator_.steps[-1][0] + "__" if isinstance(self.estimator_, Pipeline) else ""
            weights = {last + "sample_weight": group_weights(np.asarray(groups), np.asarray(y),
                                                            "balanced", 1.0)}
        self.estimator_.fit(X, y, **weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        check_is_fitted(self)
        return self.estimator_.predict(X)


class GroupBalancedGaussian(GaussianClassifier):
    """Gaussian class-conditionals fitted with class-and-group-balanced weights.

    Given ``groups``, each class's mean and covariance are those of the equal-weight mixture of
    its groups (rows weighted by one over their group's size) and the class priors are uniform:
    the generative counterpart of group-balanced reweighting. Without ``groups``, the Gaussian
    classifier it extends. Shrinkage estimates are unweighted, so ``shrinkage`` must be None.
    """

    def fit(self, X, y, groups=None):
        self._groups = None if groups is None else np.asarray(groups)
        try:
            return super().fit(X, y)
        finally:
            del self._groups

    def _class_moments(self, X: np.ndarray, y_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._groups is None:
            return super()._class_moments(X, y_index)
        if self.shrinkage is not None:
            raise ValueError("GroupBalancedGaussian: group weights need shrinkage=None")
        n_classes = len(self.classes_)
        self.class_prior_ = np.full(n_classes, 1.0 / n_classes)
        weights = group_weights(self._groups, y_index, "balanced", 1.0)
        means, covariances = [], []
        for k in range(n_classes):
            rows, w = X[y_index == k], weights[y_index == k]
            mean = np.average(rows, axis=0, weights=w)
            centred = rows - mean
            means.append(mean)
            covariances.append((w[:, None] * centred).T @ centred / w.sum())
        return np.stack(means), np.stack(covariances)


# Robust-training baselines of the selection experiment: group labels at training time, tuned on
# the same search spaces as their panel counterparts.
@register_model("lr_group_balanced", paradigm="discriminative", group="linear_discriminative",
                tags=GROUP_TAGS, search_space={"estimator__logisticregression__C": [0.01, 0.1, 1.0, 10.0]})
def lr_group_balanced(random_state: int) -> GroupBalanced:
    """`logistic_regression` (C=1, standardised) trained with group-balanced weights (uses group labels)."""
    return GroupBalanced(make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)))


@register_model("lr_group_dro", paradigm="discriminative", group="linear_discriminative",
                tags=GROUP_TAGS, search_space={"C": [0.01, 0.1, 1.0, 10.0]})
def lr_group_dro(random_state: int) -> GroupDROLogisticRegression:
    """Group DRO logistic regression (C=1, standardised; 30 rounds, eta=1) (uses group labels).

    Sagawa et al. (2020)'s objective, the worst group's expected log-loss, by alternating weighted
    fits and exponentiated-gradient group weights (see `GroupDROLogisticRegression`).
    """
    return GroupDROLogisticRegression(C=1.0)


@register_model("rf_group_balanced", paradigm="discriminative", group="nonlinear_discriminative",
                tags=GROUP_TAGS,
                search_space={"estimator__max_depth": [None, 4, 8],
                              "estimator__min_samples_leaf": [1, 5]})
def rf_group_balanced(random_state: int) -> GroupBalanced:
    """`random_forest` trained with group-balanced sample weights (uses group labels).

    A forest rather than gradient boosting: scikit-learn's boosting bins weighted data by weighted
    quantiles, which made each fit ten times slower than the unweighted one.
    """
    return GroupBalanced(RandomForestClassifier(n_estimators=100, n_jobs=1,
                                                random_state=random_state))


@register_model("gaussian_nb_group_balanced", paradigm="generative", group="parametric_generative",
                tags=GROUP_TAGS | {"sample", "missing"},
                search_space={"var_smoothing": [1e-9, 1e-3, 1e-1]})
def gaussian_nb_group_balanced(random_state: int) -> GroupBalancedGaussian:
    """`gaussian_nb` with class-and-group-balanced weights and uniform class priors (uses group labels).

    Each class's Gaussian is fitted to the equal-weight mixture of its groups: the generative
    counterpart of reweighting (see `GroupBalancedGaussian`).
    """
    return GroupBalancedGaussian(covariance="diag")
