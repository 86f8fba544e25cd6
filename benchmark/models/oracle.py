"""Reference predictors that know the data-generating process: the Bayes and invariant oracles.

They are not learners: the harness hands them the generator and the test shift level through
`set_distribution` (any model exposing that method receives it), and they predict with the
family's true posterior. They are tagged `missing` because a true posterior integrates missing
features out itself; mean imputation would make the "oracle" worse than the Bayes rule.
Families without a known density (built on real data) have none, and the harness does not run
oracles on them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from spurbench.registry import register_model


class PosteriorOracle(ClassifierMixin, BaseEstimator):
    """Predicts with a generator's true posterior: the full one, or the core-features-only one.

    The posterior's columns are the generator's classes 0..k-1; `classes_` are the labels `fit`
    saw, in sorted order (class j of the generator is `classes_[j]`), or 0..k-1 when the training
    sample missed a class (the labels then cannot be matched and the generator's own stand).
    `predict` returns labels of `classes_`, as every classifier does.
    """

    def __init__(self, kind: str = "bayes"):
        self.kind = kind

    def fit(self, X: np.ndarray, y: np.ndarray) -> PosteriorOracle:
        self.classes_ = np.unique(y)
        return self

    def set_distribution(self, generator: object, shift: float) -> None:
        self.generator_, self.shift_ = generator, shift
        if len(self.classes_) != generator.n_classes:
            self.classes_ = np.arange(generator.n_classes)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        method = self.generator_.posterior if self.kind == "bayes" else (
            self.generator_.invariant_posterior)
        proba = method(np.asarray(X, dtype=float), self.shift_)
        if proba is None:
            raise RuntimeError(f"{self.generator_.family} has no known {self.kind} posterior")
        return proba

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


@register_model("bayes_oracle", paradigm="oracle", tags={"missing"})
def bayes_oracle(random_state: int) -> PosteriorOracle:
    """The Bayes-optimal rule of the test distribution (knows the true density at each shift)."""
    return PosteriorOracle("bayes")


@register_model("invariant_oracle", paradigm="oracle", tags={"missing"})
def invariant_oracle(random_state: int) -> PosteriorOracle:
    """The best rule that reads the core features only."""
    return PosteriorOracle("invariant")
