"""Feature importance (coefficients, Gaussian analogue, permutation) and the spurious share."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import validate_data
from spurbench.evaluation.importance import feature_importance, role_importance, spurious_share
from spurbench.generators.gaussian_spurious import GaussianSpurious
from spurbench.registry import get_model, list_models

LEARNERS = [e.name for e in list_models() if e.paradigm != "oracle"]


class FirstFeatureOnly(ClassifierMixin, BaseEstimator):
    """A classifier that reads column 0 and nothing else (no coefficients: permutation path)."""

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p1 = 1.0 / (1.0 + np.exp(-2.0 * np.asarray(X)[:, 0]))
        return np.column_stack([1.0 - p1, p1])


def spurious_sample(n: int = 600, seed: int = 0):
    gen = GaussianSpurious(train_correlation=0.9, n_core=1, n_spurious=1, n_noise=1)
    return gen.sample(n, 0.0, np.random.default_rng(seed))


@pytest.mark.parametrize("name", LEARNERS)
def test_every_model_ranks_core_above_noise_and_gives_a_share_in_the_unit_interval(name):
    # Core separation 2 vs a pure-noise feature: any model that learned anything leans on the
    # core feature far more (the gap is an order of magnitude, well above permutation noise).
    train = spurious_sample()
    model = get_model(name).build(random_state=0).fit(train.X, train.y)
    importance = feature_importance(model, train.X, train.y, random_state=0)
    assert importance.shape == (3,) and np.all(np.isfinite(importance)) and np.all(importance >= 0)
    assert importance[0] > importance[2]
    share = spurious_share(role_importance(model, train.X, train.y, train.roles, random_state=0))
    assert 0.0 <= share <= 1.0


@pytest.mark.parametrize("name", ["logistic_regression", "statsmodels_logit", "lda", "gaussian_nb"])
def test_coefficient_importance_does_not_depend_on_feature_units(name):
    train = spurious_sample()
    rescaled = train.X * np.array([10.0, 1.0, 0.1])
    before = feature_importance(get_model(name).build(0).fit(train.X, train.y), train.X, train.y)
    after = feature_importance(get_model(name).build(0).fit(rescaled, train.y), rescaled, train.y)
    np.testing.assert_allclose(after, before, rtol=1e-4)


def test_lda_importance_is_proportional_to_its_coefficients_times_feature_sd():
    train = spurious_sample()
    ours = feature_importance(get_model("lda").build(0).fit(train.X, train.y), train.X, train.y)
    sk = LinearDiscriminantAnalysis(solver="lsqr").fit(train.X, train.y)
    reference = np.abs(sk.coef_[0]) * train.X.std(axis=0)
    np.testing.assert_allclose(ours / ours.sum(), reference / reference.sum(), rtol=1e-6)


def test_gaussian_models_expose_their_discriminant_coefficients_publicly():
    # Binary LDA: row 1 - row 0 of pooled_cov^-1 (mean_k - mean) is pooled_cov^-1 (mean_1 - mean_0),
    # sklearn's coef_[0] (both ML covariances; agreement to 1e-6, numerical noise only).
    train = spurious_sample()
    lda = get_model("lda").build(0).fit(train.X, train.y)
    coefficients = lda.discriminant_coefficients()
    assert coefficients.shape == (2, 3)
    sk = LinearDiscriminantAnalysis(solver="lsqr").fit(train.X, train.y)
    np.testing.assert_allclose(coefficients[1] - coefficients[0], sk.coef_[0], rtol=1e-6)
    with pytest.raises(NotFittedError):
        get_model("lda").build(0).discriminant_coefficients()


def test_permutation_importance_is_zero_for_unused_features_and_positive_for_used_ones():
    X = np.random.default_rng(1).standard_normal((300, 4))
    y = (X[:, 0] > 0).astype(int)
    model = FirstFeatureOnly().fit(X, y)
    importance = feature_importance(model, X, y, random_state=0)
    assert importance[0] > 0.1
    np.testing.assert_array_equal(importance[1:], 0.0)


def test_permutation_importance_is_reproducible_given_the_seed():
    train = spurious_sample()
    model = get_model("random_forest").build(0).fit(train.X, train.y)
    first = feature_importance(model, train.X, train.y, random_state=3)
    np.testing.assert_array_equal(first, feature_importance(model, train.X, train.y, random_state=3))


def test_spurious_share():
    assert spurious_share({"core": 1.0, "spurious": 3.0, "noise": 0.0}) == pytest.approx(0.75)
    assert math.isnan(spurious_share({"core": 1.0, "noise": 2.0}))
    assert math.isnan(spurious_share({"core": 0.0, "spurious": 0.0}))


def test_role_importance_counts_a_multi_column_block_as_one():
    # y is the parity of two spurious columns: each alone carries nothing, together everything;
    # the block permutation sees the whole dependence.
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(400, 2))
    y = bits.sum(axis=1) % 2
    X = np.column_stack([rng.standard_normal(400), bits + 0.01 * rng.standard_normal((400, 2))])
    model = get_model("random_forest").build(0).fit(X, y)
    roles = ("core", "spurious", "spurious")
    blocks = role_importance(model, X, y, roles, random_state=0)
    # The forest memorises its training rows, so shuffling the (useless) core column still costs
    # a little log loss on them; the spurious block costs over ten times more.
    assert blocks["spurious"] > 10 * blocks["core"]
    assert spurious_share(blocks) > 0.9


def test_role_importance_is_reproducible_given_the_seed():
    train = spurious_sample()
    model = get_model("mlp").build(0).fit(train.X, train.y)
    first = role_importance(model, train.X, train.y, train.roles, random_state=5)
    assert first == role_importance(model, train.X, train.y, train.roles, random_state=5)
