"""Generative classifiers: they model P(x | y) P(y) and predict with Bayes' rule."""

from __future__ import annotations

from sklearn.discriminant_analysis import (
    LinearDiscriminantAnalysis,
    QuadraticDiscriminantAnalysis,
)
from sklearn.naive_bayes import GaussianNB

from benchmark.registry import register_model


@register_model("gaussian_nb", paradigm="generative", tags={"prior_shift"})
def gaussian_nb(random_state: int) -> GaussianNB:
    """Gaussian naive Bayes: independent features, one variance per feature and class."""
    return GaussianNB()


@register_model("lda", paradigm="generative", tags={"prior_shift"})
def lda(random_state: int) -> LinearDiscriminantAnalysis:
    """Linear discriminant analysis: Gaussian classes sharing one full covariance."""
    return LinearDiscriminantAnalysis(solver="lsqr")


@register_model("qda", paradigm="generative", tags={"prior_shift"})
def qda(random_state: int) -> QuadraticDiscriminantAnalysis:
    """Quadratic discriminant analysis, covariance regularised by 0.1 toward the identity."""
    return QuadraticDiscriminantAnalysis(reg_param=0.1)
