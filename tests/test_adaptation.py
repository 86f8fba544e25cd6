"""EM prior adaptation (Saerens et al. 2002) recovers a known test prior and has the training
prior as a fixed point."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from spurbench.evaluation.adaptation import em_prior_adaptation

MEANS = np.array([-1.5, 0.0, 1.5])  # 1-D Gaussian classes, unit variance


def densities(x: np.ndarray, n_classes: int) -> np.ndarray:
    return stats.norm.pdf(x[:, None] - MEANS[:n_classes])


def posterior(x: np.ndarray, prior: np.ndarray) -> np.ndarray:
    joint = densities(x, len(prior)) * prior
    return joint / joint.sum(axis=1, keepdims=True)


def draw(n: int, prior: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(len(prior), size=n, p=prior)
    return MEANS[y] + rng.standard_normal(n), y


def prior_standard_errors(x: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Asymptotic SEs of the ML mixing proportions (inverse Fisher information, free parameters
    prior[1:], prior[0] = 1 - sum), estimated from the sample; prior[0]'s from the delta method."""
    f = densities(x, len(prior))
    scores = (f[:, 1:] - f[:, :1]) / (f @ prior)[:, None]
    covariance = np.linalg.inv(scores.T @ scores)
    ses = np.sqrt(np.diag(covariance))
    return np.concatenate([[np.sqrt(covariance.sum())], ses])


@pytest.mark.parametrize(("train_prior", "test_prior"), [
    (np.array([0.5, 0.5]), np.array([0.2, 0.8])),
    (np.array([0.7, 0.3]), np.array([0.3, 0.7])),
    (np.array([1 / 3, 1 / 3, 1 / 3]), np.array([0.6, 0.1, 0.3])),
])
def test_em_recovers_a_known_test_prior(train_prior, test_prior):
    # The EM fixed point is the ML estimate of the mixing proportions: within 4 of its asymptotic
    # standard errors of the truth (n = 4000 gives SEs of ~0.01-0.02).
    x, _ = draw(4000, test_prior, seed=int(test_prior[0] * 100))
    adapted, estimate = em_prior_adaptation(posterior(x, train_prior), train_prior)
    assert np.all(np.abs(estimate - test_prior) < 4 * prior_standard_errors(x, test_prior))
    # and the adapted posteriors are exactly Bayes' rule under the estimated prior
    np.testing.assert_allclose(adapted, posterior(x, estimate), atol=1e-8)


def test_adaptation_improves_accuracy_under_label_shift():
    # Test prior 0.1 / 0.9: predicting with the adapted posteriors is closer to the Bayes rule
    # of the test distribution; the gain here is ~14 points (0.77 -> 0.91), far above the noise.
    x, y = draw(4000, np.array([0.1, 0.9]), seed=1)
    train_prior = np.array([0.5, 0.5])
    proba = posterior(x, train_prior)
    adapted, _ = em_prior_adaptation(proba, train_prior)
    assert np.mean(adapted.argmax(1) == y) > np.mean(proba.argmax(1) == y) + 0.02


def test_training_prior_is_a_fixed_point():
    # Posteriors whose average is exactly the training prior: EM stops at once, nothing changes.
    proba = np.array([[0.7, 0.3], [0.3, 0.7], [0.5, 0.5]])
    adapted, estimate = em_prior_adaptation(proba, np.array([0.5, 0.5]))
    np.testing.assert_allclose(estimate, [0.5, 0.5])
    np.testing.assert_allclose(adapted, proba)


def test_unshifted_test_data_keep_the_training_prior_within_noise():
    x, _ = draw(4000, np.array([0.5, 0.5]), seed=2)
    _, estimate = em_prior_adaptation(posterior(x, np.array([0.5, 0.5])), np.array([0.5, 0.5]))
    assert np.all(np.abs(estimate - 0.5) < 4 * prior_standard_errors(x, np.array([0.5, 0.5])))


def test_class_absent_from_training_keeps_zero_probability():
    proba = np.array([[0.6, 0.4, 0.0], [0.2, 0.8, 0.0]])
    adapted, estimate = em_prior_adaptation(proba, np.array([0.5, 0.5, 0.0]))
    assert estimate[2] == 0 and np.all(adapted[:, 2] == 0)
    np.testing.assert_allclose(adapted.sum(axis=1), 1.0)


@pytest.mark.parametrize(("proba", "prior"), [
    (np.ones((3, 2)) / 2, np.array([0.2, 0.3, 0.5])),
    (np.ones((3, 2)) / 2, np.array([0.6, 0.6])),
    (np.ones((3, 2)) / 2, np.array([1.2, -0.2])),
])
def test_inconsistent_inputs_are_rejected(proba, prior):
    with pytest.raises(ValueError):
        em_prior_adaptation(proba, prior)
