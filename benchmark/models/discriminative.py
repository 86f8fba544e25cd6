"""Discriminative classifiers: they model P(y | x) (or a decision boundary) directly."""

from __future__ import annotations

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmark.registry import register_model


@register_model("logistic_regression", paradigm="discriminative")
def logistic_regression(random_state: int) -> Pipeline:
    """L2-regularised logistic regression (C=1) on standardised features."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))


@register_model("random_forest", paradigm="discriminative")
def random_forest(random_state: int) -> RandomForestClassifier:
    """Random forest of 100 fully grown trees."""
    return RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=random_state)


@register_model("mlp", paradigm="discriminative")
def mlp(random_state: int) -> Pipeline:
    """Two hidden layers of 64 ReLU units, Adam, early stopping, on standardised features."""
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64, 64), early_stopping=True, max_iter=300,
                      random_state=random_state),
    )
