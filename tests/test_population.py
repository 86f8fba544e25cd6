"""Population worst-group accuracy of the linear generative and logistic fits, checked against
fits on large simulated samples of the `group_shift` family."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from spurbench.evaluation.metrics import worst_group_accuracy
from spurbench.evaluation.population import (
    boundary,
    generative_weights,
    logistic_weights,
    population_worst_group,
)
from spurbench.generators.group_shift import GroupShift
from spurbench.registry import get_model

N = 200_000  # training rows of the simulated "population" fits


def _train(core_noise, spurious_noise, seed=0):
    gen = GroupShift(majority_share=0.9, n_core=1, n_spurious=1, core_noise=core_noise,
                     spurious_noise=spurious_noise)
    return gen, gen.sample(N, 0.0, np.random.default_rng(seed))


@pytest.mark.parametrize(("core_noise", "spurious_noise"), [(1.5, 0.5), (1.0, 1.0), (2.0, 0.25)])
def test_generative_weights_match_lda_fitted_on_a_large_sample(core_noise, spurious_noise):
    _, train = _train(core_noise, spurious_noise)
    lda = get_model("lda").build(0).fit(train.X, train.y)
    fitted = lda.covariances_[0]  # shared covariance; weights = its inverse times mean difference
    w = np.linalg.solve(fitted, lda.means_[1] - lda.means_[0])
    expected = generative_weights(core_noise, spurious_noise, 0.9)
    # Sampling error of moment estimates at N = 200,000 is ~0.3% of each weight; 2% is safe.
    np.testing.assert_allclose(w, expected, rtol=0.02)


@pytest.mark.parametrize(("core_noise", "spurious_noise"), [(1.5, 0.5), (1.0, 1.0), (2.0, 0.25)])
def test_logistic_weights_match_a_nearly_unregularised_fit_on_a_large_sample(core_noise, spurious_noise):
    _, train = _train(core_noise, spurious_noise, seed=1)
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(train.X, train.y)
    # sklearn's log-odds of y = 1 is the same linear score as the +-1 margin's.
    np.testing.assert_allclose(fit.coef_[0], logistic_weights(core_noise, spurious_noise, 0.9), rtol=0.03)
    assert abs(fit.intercept_[0]) < 0.03


def test_population_worst_group_accuracy_matches_simulation_within_four_standard_errors():
    gen, train = _train(1.5, 0.5, seed=2)
    test = gen.sample(N, 0.5, np.random.default_rng(3))
    theory = population_worst_group(1.5, 0.5, 0.9)
    for name, model in (("generative", get_model("lda").build(0)),
                        ("discriminative", LogisticRegression(C=1e6, max_iter=1000))):
        model.fit(train.X, train.y)
        measured = worst_group_accuracy(test.y, model.predict(test.X), test.group)
        # SE of a minority-group accuracy on ~N/4 rows, plus the fit's own error (small at N)
        se = np.sqrt(theory[name] * (1 - theory[name]) / (N / 4))
        assert abs(measured - theory[name]) < 4 * se + 0.005, (name, measured, theory[name])


def test_the_generative_spurious_weight_is_unbounded_and_the_logistic_one_is_not():
    rho = 0.95
    sharp = [generative_weights(1.5, s, rho)[1] for s in (0.5, 0.1, 0.01)]
    assert sharp[0] < sharp[1] < sharp[2]
    assert sharp[2] == pytest.approx(2 * (2 * rho - 1) / (4 * rho * (1 - rho)), rel=1e-3)
    assert logistic_weights(1.5, 0.01, rho)[1] < np.log(rho / (1 - rho)) + 0.05


def test_in_the_population_the_logistic_fit_is_never_worse_on_the_worst_group():
    # The fact the phase diagram builds on: no population boundary in this family.
    gaps = [population_worst_group(c, s, 0.95)["gap"] for c in (0.5, 1.5, 3.0)
            for s in (0.1, 0.5, 1.0, 3.0)]
    assert min(gaps) > -1e-6
    assert boundary(1.5, 0.95) is None
