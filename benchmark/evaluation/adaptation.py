"""Prior (label-shift) adaptation of a classifier's posteriors on unlabelled test data.

Saerens, Latinne & Decaestecker (2002), "Adjusting the outputs of a classifier to new a priori
probabilities: a simple procedure". If only P(y) changes between training and test, P(x | y)
being fixed, the test posterior is the training posterior re-weighted by the ratio of priors.
The test prior is unknown; EM estimates it from the unlabelled test posteriors:

* E-step: p_i(k) ∝ proba_i(k) * prior(k) / train_prior(k), normalised per row;
* M-step: prior(k) = mean over rows of p_i(k);

starting from the training prior, until the prior moves by less than `tol` (max abs change).
A class absent from the training data (prior 0) has no likelihood to re-weight: its adapted
posterior and prior are 0.
The result is exact for a calibrated model whose P(x | y) does not shift: the generative models
qualify by construction, logistic regression approximately.
"""

from __future__ import annotations

import numpy as np


def _reweight(proba: np.ndarray, prior: np.ndarray, train_prior: np.ndarray) -> np.ndarray:
    ratio = np.divide(prior, train_prior, out=np.zeros_like(prior), where=train_prior > 0)
    weighted = proba * ratio
    return weighted / weighted.sum(axis=1, keepdims=True)


def em_prior_adaptation(proba: np.ndarray, train_prior: np.ndarray, max_iter: int = 1000,
                        tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Adapt posteriors to the test set's (estimated) class prior by EM.

    Parameters
    ----------
    proba : (n, K) posteriors under the training prior, rows summing to 1.
    train_prior : (K,) class prior of the training data (non-negative, summing to 1).
    max_iter, tol : stop after `max_iter` EM steps or when no prior entry moves by `tol`.

    Returns
    -------
    adapted : (n, K) posteriors under the estimated test prior.
    test_prior : (K,) the estimated test prior.
    """
    proba = np.asarray(proba, dtype=float)
    train_prior = np.asarray(train_prior, dtype=float)
    if proba.ndim != 2 or proba.shape[1] != train_prior.shape[0]:
        raise ValueError(f"proba {proba.shape} and train_prior {train_prior.shape} disagree")
    if np.any(train_prior < 0) or not np.isclose(train_prior.sum(), 1.0):
        raise ValueError(f"train_prior must be non-negative and sum to 1, got {train_prior}")
    prior = train_prior
    for _ in range(max_iter):
        updated = _reweight(proba, prior, train_prior).mean(axis=0)
        converged = np.max(np.abs(updated - prior)) < tol
        prior = updated
        if converged:
            break
    return _reweight(proba, prior, train_prior), prior
