"""Discriminative classifiers: they model P(y | x) (or a decision boundary) directly.

Hyper-parameters are fixed here (the `fixed` protocol), never tuned on test data; each
`search_space` lists what the model-selection protocols try (benchmark/evaluation/selection.py). Each
factory's docstring states the defaults, its first line being what ``spurbench list models``
prints. Scaling is part of a model's pipeline where the model needs it; every model runs on one
thread (n_jobs=1), the harness parallelises fits.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from spurbench.models.small_sample import CalibratedLinearSVC, CappedKNeighbors, SmallSampleMLP
from spurbench.models.statsmodels_logit import StatsmodelsLogit
from spurbench.registry import register_model

C_GRID = [0.01, 0.1, 1.0, 10.0]  # inverse L2 strength of the linear models' searches


@register_model("logistic_regression", paradigm="discriminative", group="linear_discriminative",
                tags={"prior_shift"}, search_space={"logisticregression__C": C_GRID})
def logistic_regression(random_state: int) -> Pipeline:
    """L2-regularised logistic regression (C=1) on standardised features.

    Tagged prior_shift: its posteriors are calibrated enough for EM prior adaptation, the
    discriminative counterpart of the adapted generative models.
    """
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


@register_model("logistic_regression_mle", paradigm="discriminative", group="linear_discriminative")
def logistic_regression_mle(random_state: int) -> Pipeline:
    """Unregularised (maximum-likelihood) logistic regression on standardised features.

    `logistic_regression` without its penalty (C = inf, scikit-learn's spelling since `penalty=None`
    was deprecated in 1.8), lbfgs with up to 10,000 iterations and the same tol (1e-4): the
    estimator of Ng & Jordan's (2001) analysis, run beside the regularised one so that the effect of
    the L2 shrinkage on small-sample accuracy is measured, not assumed. When the training classes are
    linearly separable (always with fewer rows than features) the MLE does not exist: the loss falls
    towards 0 as the weights grow along a separating direction. lbfgs then stops on its gradient
    tolerance, usually within a few dozen iterations (far below max_iter, so no ConvergenceWarning),
    with large weights: the predictions are those of a separating hyperplane fitted without
    shrinkage, exactly the unregularised regime of the analysis. A stricter tol (1e-8) moved the mean
    accuracies of the learning-curve scenarios by at most 0.012 (0.003 on average). Its
    probabilities are overconfident on separable data, so it is not tagged prior_shift.
    """
    return make_pipeline(StandardScaler(), LogisticRegression(C=np.inf, max_iter=10_000))


@register_model("linear_svm", paradigm="discriminative", group="linear_discriminative",
                search_space={"calibratedlinearsvc__C": C_GRID})
def linear_svm(random_state: int) -> Pipeline:
    """Linear SVM (C=1, squared hinge loss) on standardised features, Platt-calibrated by 3-fold CV.

    Fewer folds when a class has fewer than 3 training rows (see benchmark/models/small_sample.py).
    """
    return make_pipeline(StandardScaler(), CalibratedLinearSVC(C=1.0, cv=3, random_state=random_state))


@register_model("knn", paradigm="discriminative", group="nonlinear_discriminative",
                tags={"reference"})
def knn(random_state: int) -> Pipeline:
    """15 nearest neighbours (Euclidean, uniform weights) on standardised features.

    15 rather than sklearn's 5 so that probabilities are less coarse; all rows when there are
    fewer than 15.
    """
    return make_pipeline(StandardScaler(), CappedKNeighbors(n_neighbors=15))


@register_model("random_forest", paradigm="discriminative", group="nonlinear_discriminative",
                search_space={"max_depth": [None, 4, 8], "min_samples_leaf": [1, 5]})
def random_forest(random_state: int) -> RandomForestClassifier:
    """Random forest of 100 fully grown trees (sqrt(d) features per split)."""
    return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=random_state)


@register_model("hist_gradient_boosting", paradigm="discriminative", group="nonlinear_discriminative",
                search_space={"max_leaf_nodes": [4, 15, 31], "learning_rate": [0.03, 0.1]})
def hist_gradient_boosting(random_state: int) -> HistGradientBoostingClassifier:
    """Histogram gradient boosting: 100 trees of at most 31 leaves, learning rate 0.1.

    sklearn's defaults, with early stopping off so small and large training sets get the same
    model.
    """
    return HistGradientBoostingClassifier(max_iter=100, early_stopping=False,
                                          random_state=random_state)


@register_model("hist_gradient_boosting_native", paradigm="discriminative",
                group="nonlinear_discriminative", tags={"missing", "reference", "opt_in"})
def hist_gradient_boosting_native(random_state: int) -> HistGradientBoostingClassifier:
    """`hist_gradient_boosting` given its missing features as NaN (its native handling, no imputation).

    Each split learns which side missing values go to: the discriminative model with its own
    missing-value strategy, against which marginalising generative models are compared.
    """
    return hist_gradient_boosting(random_state)


@register_model("mlp", paradigm="discriminative", group="nonlinear_discriminative",
                search_space={"smallsamplemlp__alpha": [1e-4, 1e-2, 1.0],
                              "smallsamplemlp__hidden_layer_sizes": [(64, 64), (16,)]})
def mlp(random_state: int) -> Pipeline:
    """Two hidden layers of 64 ReLU units, Adam, early stopping, on standardised features.

    At most 200 epochs, stopping after 10 without improvement on a 10% validation split (on the
    training loss when that split could not hold two rows per class).
    """
    return make_pipeline(StandardScaler(), SmallSampleMLP(hidden_layer_sizes=(64, 64), max_iter=200,
                                                          random_state=random_state))


@register_model("statsmodels_logit", paradigm="discriminative", group="linear_discriminative",
                tags={"reference"})
def statsmodels_logit(random_state: int) -> StatsmodelsLogit:
    """Maximum-likelihood logistic regression by statsmodels (raw features, with standard errors).

    Falls back to an L2 penalty (alpha = 1) when the classes are separable and the MLE diverges
    (see benchmark/models/statsmodels_logit.py).
    """
    return StatsmodelsLogit(alpha=1.0, maxiter=100)
