"""statsmodels_logit: the MLE with standard errors, and a quiet L2 fallback under separation."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression
from spurbench.models.statsmodels_logit import StatsmodelsLogit


def logistic_data(n: int, n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    scores = np.column_stack([np.zeros(n)] + [k * X[:, 0] - 0.5 * X[:, 1] for k in range(1, n_classes)])
    y = np.array([rng.choice(n_classes, p=p) for p in np.exp(scores) / np.exp(scores).sum(1, keepdims=True)])
    return X, y


def test_binary_fit_is_the_mle_with_statsmodels_standard_errors():
    X, y = logistic_data(600, 2)
    model = StatsmodelsLogit().fit(X, y)
    reference = sm.Logit(y, sm.add_constant(X)).fit(disp=False)
    assert model.method_ == "mle"
    np.testing.assert_allclose(model.coef_[0], reference.params[1:], rtol=1e-6)
    np.testing.assert_allclose(model.intercept_, reference.params[:1], rtol=1e-6)
    np.testing.assert_allclose(model.bse_[0], reference.bse[1:], rtol=1e-6)


def test_multiclass_fit_matches_unpenalised_sklearn_probabilities():
    # Both maximise the same likelihood; sklearn's lbfgs stops at tol 1e-4-ish, hence atol 1e-3.
    X, y = logistic_data(900, 3)
    model = StatsmodelsLogit().fit(X, y)
    assert model.method_ == "mle" and model.coef_.shape == model.bse_.shape == (2, 3)
    sk = LogisticRegression(C=np.inf, max_iter=5000, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(model.predict_proba(X), sk.predict_proba(X), atol=1e-3)


def test_perfect_separation_falls_back_to_l2_without_warnings_and_stays_accurate():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    for y in ((X[:, 0] > 0).astype(int), np.digitize(X[:, 0], [-0.5, 0.5])):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model = StatsmodelsLogit().fit(X, y)
        assert model.method_ == "l2"
        assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.bse_))
        assert np.all(model.bse_ > 0)
        assert np.mean(model.predict(X) == y) > 0.95


def test_l2_fallback_standard_errors_shrink_with_the_sample_size():
    # Penalised-information standard errors still scale like 1/sqrt(n): 4x the rows, ~half the SE.
    rng = np.random.default_rng(2)
    ses = []
    for n in (400, 1600):
        X = rng.standard_normal((n, 2))
        ses.append(StatsmodelsLogit().fit(X, (X[:, 0] > 0).astype(int)).bse_[0, 1])
    assert 0.3 < ses[1] / ses[0] < 0.7
