"""`gaussian_spurious`: shift mapping, geometry, exact posterior, closed forms, oracle dominance.

Statistical checks allow 4 standard errors (see `stat_checks`); exact checks use 1e-8.
"""

from __future__ import annotations

import numpy as np
import pytest
from generator_checks import assert_rejected, assert_seeded, rng
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import special, stats
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from spurbench.errors import ParameterError
from spurbench.generators.gaussian_spurious import GaussianSpurious
from spurbench.harness.spec import DATASETS_DIR, load_scenario
from stat_checks import assert_mean, assert_not_worse, assert_rate

LEVELS = (0.0, 0.5, 1.0)
CONFIGS = {
    "default": {},
    "unbalanced_wide": dict(n_core=3, n_spurious=2, n_noise=2, positive_fraction=0.3),
    "correlated": dict(n_core=4, feature_correlation=0.6, spurious_separation=3.0),
    "negatively_correlated": dict(n_core=3, feature_correlation=-0.3),
    "three_classes": dict(n_classes=3, n_core=2, n_spurious=2, core_separation=2.5),
    "no_spurious": dict(n_spurious=0, n_noise=1),
    "student_t": dict(n_core=2, shape="student_t", df=3.0, feature_correlation=0.4),
    "mixture": dict(n_core=2, shape="mixture", mixture_offset=1.5),
    "mixture_three_classes": dict(n_classes=3, n_core=3, n_spurious=2, shape="mixture",
                                  feature_correlation=0.3),
}


# ---- the shift mapping ------------------------------------------------------------------------

@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("shift", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_realised_agreement_matches_rho_at_each_level(n_classes, shift):
    gen = GaussianSpurious(train_correlation=0.9, n_classes=n_classes, n_core=2, n_spurious=2)
    s = gen.sample(20_000, shift, rng(1))
    assert_rate(s.attr == s.y, gen.agreement(shift), f"P(a = y) at shift {shift}")


def test_disagreeing_attribute_is_uniform_over_the_other_values():
    gen = GaussianSpurious(train_correlation=0.4, n_classes=4, n_core=3, n_spurious=3)
    s = gen.sample(20_000, 0.0, rng(2))
    off = (s.attr - s.y) % 4
    for step in (1, 2, 3):
        assert_rate(off[off != 0] == step, 1 / 3, f"P(a = y + {step} | a != y)")


@settings(max_examples=50, deadline=None)
@given(rho=st.floats(0.0, 1.0), shift=st.floats(0.0, 1.0))
def test_agreement_is_linear_from_rho_to_its_reverse(rho, shift):
    gen = GaussianSpurious(train_correlation=rho)
    assert gen.agreement(0.0) == rho
    assert gen.agreement(1.0) == pytest.approx(1.0 - rho, abs=1e-12)
    assert gen.agreement(shift) == pytest.approx(rho + shift * (1.0 - 2.0 * rho), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(rho=st.floats(0.0, 1.0), a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0))
def test_agreement_moves_monotonically_towards_the_reverse(rho, a, b):
    gen = GaussianSpurious(train_correlation=rho)
    lo, hi = sorted((a, b))
    if rho >= 0.5:
        assert gen.agreement(lo) >= gen.agreement(hi) - 1e-12
    else:
        assert gen.agreement(lo) <= gen.agreement(hi) + 1e-12


# ---- geometry and moments ---------------------------------------------------------------------

def test_default_keeps_two_classes_at_half_the_separation_along_all_ones():
    gen = GaussianSpurious(n_core=3, core_separation=2.0)
    expected = np.outer([-1.0, 1.0], np.full(3, 1.0 / np.sqrt(3)))
    np.testing.assert_allclose(gen.class_means(), expected, atol=1e-12)
    np.testing.assert_allclose(gen.core_covariance(), np.eye(3))


@pytest.mark.parametrize("name", ["correlated", "negatively_correlated", "three_classes",
                                  "mixture_three_classes"])
def test_every_pair_of_class_means_is_core_separation_apart_in_mahalanobis_distance(name):
    gen = GaussianSpurious(**CONFIGS[name])
    means, precision = gen.class_means(), np.linalg.inv(gen.core_covariance())
    for i in range(gen.n_classes):
        for j in range(i):
            d = means[i] - means[j]
            assert np.sqrt(d @ precision @ d) == pytest.approx(gen.core_separation, rel=1e-10)


@pytest.mark.parametrize("shape, variance_factor", [("gaussian", 1.0), ("student_t", 5.0 / 3.0)])
def test_within_class_moments_match_the_declared_means_and_covariance(shape, variance_factor):
    """Means within 4 SE per coordinate; the covariance of the t is df / (df - 2) times the scale."""
    gen = GaussianSpurious(n_classes=3, n_core=3, n_spurious=2, feature_correlation=0.5,
                           shape=shape, df=5.0)
    s = gen.sample(30_000, 0.0, rng(3))
    core = s.X[:, s.core_columns]
    for k in range(3):
        rows = core[s.y == k]
        for j in range(3):
            assert_mean(rows[:, j], gen.class_means()[k, j], f"class {k} feature {j} mean")
        centred = rows - gen.class_means()[k]
        assert_mean(centred[:, 0] * centred[:, 1], variance_factor * 0.5, f"class {k} covariance")
        assert_mean(centred[:, 2] ** 2, variance_factor * 1.0, f"class {k} variance")


def test_spurious_block_has_the_attribute_means_and_unit_variance():
    gen = GaussianSpurious(n_classes=3, n_core=2, n_spurious=2, spurious_separation=3.0)
    s = gen.sample(20_000, 0.3, rng(4))
    spurious = s.X[:, [r == "spurious" for r in s.roles]]
    for a in range(3):
        rows = spurious[s.attr == a] - gen.attribute_means()[a]
        assert_mean(rows[:, 0], 0.0, f"attribute {a} mean")
        assert_mean(rows[:, 1] ** 2, 1.0, f"attribute {a} variance")


# ---- exact posterior --------------------------------------------------------------------------

def _core_log_density(gen: GaussianSpurious, core: np.ndarray) -> np.ndarray:
    """log P(core | y) from scipy's densities, following the module docstring's construction."""
    means, cov = gen.class_means(), gen.core_covariance()
    columns = []
    for mu in means:
        if gen.shape == "gaussian":
            columns.append(stats.multivariate_normal(mu, cov).logpdf(core))
        elif gen.shape == "student_t":
            columns.append(stats.multivariate_t(mu, cov, df=gen.df).logpdf(core))
        else:
            v = mu / np.sqrt(mu @ np.linalg.solve(cov, mu))  # unit length in Sigma's metric
            parts = [stats.multivariate_normal(mu + side * gen.mixture_offset * v, cov).logpdf(core)
                     for side in (1.0, -1.0)]
            columns.append(np.logaddexp(*parts) - np.log(2.0))
    return np.column_stack(columns)


def _reference_posterior(gen: GaussianSpurious, X: np.ndarray, shift: float, core_only: bool):
    k = gen.n_classes
    log_joint = np.log(gen.prior) + _core_log_density(gen, X[:, : gen.n_core])
    if not core_only and gen.n_spurious:
        spurious = X[:, gen.n_core : gen.n_core + gen.n_spurious]
        rho = gen.agreement(shift)
        p_attr = np.where(np.eye(k, dtype=bool), rho, (1 - rho) / (k - 1))  # [y, a]
        dens = np.column_stack([stats.multivariate_normal(m, np.eye(gen.n_spurious)).pdf(spurious)
                                for m in gen.attribute_means()])
        log_joint = log_joint + np.log(dens @ p_attr.T)
    return special.softmax(log_joint, axis=1)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_posterior_matches_bayes_rule_on_scipy_densities(name):
    gen = GaussianSpurious(**CONFIGS[name])
    for shift in (0.0, 0.3, 1.0):
        X = gen.sample(300, shift, rng(5)).X
        np.testing.assert_allclose(gen.posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=False), atol=1e-8)
        np.testing.assert_allclose(gen.invariant_posterior(X, shift),
                                   _reference_posterior(gen, X, shift, core_only=True), atol=1e-8)


@pytest.mark.parametrize("name", ["three_classes", "student_t", "mixture", "mixture_three_classes"])
def test_posterior_is_calibrated_on_the_samples_it_describes(name):
    """Where the posterior is P(y | x) of the sampler, E[1(y = k) - p_k(x)] p_k(x) = 0 for each k
    and the accuracy of its argmax equals its mean top probability; this ties the sampler to the
    posterior for the shapes without a closed-form accuracy."""
    gen = GaussianSpurious(**CONFIGS[name])
    for shift in (0.0, 1.0):
        s = gen.sample(40_000, shift, rng(12))
        p = gen.posterior(s.X, shift)
        top = p.argmax(axis=1)
        assert_mean((top == s.y) - p.max(axis=1), 0.0, f"{name} accuracy vs confidence at {shift}")
        for k in range(gen.n_classes):
            assert_mean(((s.y == k) - p[:, k]) * p[:, k], 0.0, f"{name} calibration of class {k}")


def test_posterior_rows_are_probabilities_even_when_the_correlation_is_perfect():
    gen = GaussianSpurious(train_correlation=1.0, n_classes=3, n_core=2, n_spurious=2)
    s = gen.sample(500, 0.0, rng(6))
    for shift in (0.0, 1.0):
        p = gen.posterior(s.X, shift)
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


# ---- closed forms and the oracles -------------------------------------------------------------

@pytest.mark.parametrize("name", ["default", "unbalanced_wide", "correlated", "three_classes",
                                  "no_spurious"])
@pytest.mark.parametrize("shift", LEVELS)
def test_closed_form_accuracies_match_monte_carlo_accuracy_of_the_true_posterior(name, shift):
    gen = GaussianSpurious(**CONFIGS[name])
    s = gen.sample(40_000, shift, rng(7))
    bayes, invariant = gen.bayes_accuracy(shift), gen.invariant_accuracy(shift)
    if bayes is not None:
        assert_rate(gen.posterior(s.X, shift).argmax(axis=1) == s.y, bayes, f"{name} bayes")
    assert invariant is not None, "Gaussian classes have a core-only accuracy formula"
    assert_rate(gen.invariant_posterior(s.X, shift).argmax(axis=1) == s.y, invariant,
                f"{name} invariant")


def test_closed_form_reduces_to_phi_of_half_the_mahalanobis_distance():
    for r in (0.0, 0.5):
        gen = GaussianSpurious(n_core=3, n_spurious=0, core_separation=2.4, feature_correlation=r)
        assert gen.bayes_accuracy(0.0) == pytest.approx(stats.norm.cdf(1.2), abs=1e-9)


@pytest.mark.parametrize("name", ["student_t", "mixture", "mixture_three_classes"])
def test_accuracies_without_a_formula_are_none(name):
    gen = GaussianSpurious(**CONFIGS[name])
    assert gen.bayes_accuracy(0.5) is None
    assert gen.invariant_accuracy(0.5) is None
    assert GaussianSpurious(**CONFIGS["three_classes"]).bayes_accuracy(0.5) is None


@pytest.mark.parametrize("name", ["default", "correlated", "three_classes", "student_t", "mixture"])
def test_bayes_oracle_is_at_least_as_accurate_as_fitted_logistic_regression_and_naive_bayes(name):
    gen = GaussianSpurious(**CONFIGS[name])
    train = gen.sample(2000, 0.0, rng(8))
    models = [LogisticRegression(max_iter=1000).fit(train.X, train.y), GaussianNB().fit(train.X, train.y)]
    for shift in LEVELS:
        test = gen.sample(10_000, shift, rng(9))
        oracle = gen.posterior(test.X, shift).argmax(axis=1) == test.y
        for model in models:
            assert_not_worse(oracle, model.predict(test.X) == test.y,
                             f"{name} {type(model).__name__} at {shift}")


# ---- the Sample contract ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["three_classes", "student_t", "mixture"])
def test_sample_has_declared_shapes_roles_groups_and_counterfactual(name):
    gen = GaussianSpurious(**CONFIGS[name], n_noise=2)
    s = gen.sample(500, 0.2, rng(10))
    k, d = gen.n_classes, gen.n_core + gen.n_spurious + 2
    assert s.X.shape == (500, d) and s.X.dtype == np.float64
    assert s.y.dtype == np.int64 and set(np.unique(s.y)) == set(range(k))
    assert s.roles == ("core",) * gen.n_core + ("spurious",) * gen.n_spurious + ("noise",) * 2
    np.testing.assert_array_equal(s.group, k * s.y + s.attr)
    spurious = np.array(s.roles) == "spurious"
    np.testing.assert_array_equal(s.X_counterfactual[:, ~spurious], s.X[:, ~spurious])
    shift_back = gen.attribute_means()[(s.attr + 1) % k] - gen.attribute_means()[s.attr]
    np.testing.assert_allclose(s.X_counterfactual[:, spurious] - s.X[:, spurious], shift_back,
                               atol=1e-12)


def test_same_seed_gives_identical_arrays_and_different_seeds_differ():
    assert_seeded(GaussianSpurious(**CONFIGS["mixture_three_classes"]), 0.5)


# ---- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("params, field", [
    (dict(train_correlation=1.2), "train_correlation"),
    (dict(n_classes=1), "n_classes"),
    (dict(n_classes=4, n_core=2), "n_core"),
    (dict(n_classes=4, n_core=3, n_spurious=2), "n_spurious"),
    (dict(core_separation=0.0), "core_separation"),
    (dict(spurious_separation=-1.0), "spurious_separation"),
    (dict(positive_fraction=1.0), "positive_fraction"),
    (dict(n_classes=3, n_core=2, n_spurious=2, positive_fraction=0.3), "positive_fraction"),
    (dict(feature_correlation=0.5), "feature_correlation"),  # n_core = 1
    (dict(n_core=3, feature_correlation=1.0), "feature_correlation"),
    (dict(n_core=3, feature_correlation=-0.5), "feature_correlation"),
    (dict(shape="cauchy"), "shape"),
    (dict(df=0.0), "df"),
    (dict(mixture_offset=-0.1), "mixture_offset"),
    (dict(n_noise=1.5), "n_noise"),
])
def test_invalid_parameters_are_rejected_naming_the_parameter(params, field):
    assert_rejected(GaussianSpurious, params, field)


@settings(max_examples=60, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-5, max_value=5))
def test_train_correlation_is_accepted_exactly_inside_the_unit_interval(value):
    if 0.0 <= value <= 1.0:
        assert GaussianSpurious(train_correlation=value).train_correlation == value
    else:
        with pytest.raises(ParameterError, match="train_correlation"):
            GaussianSpurious(train_correlation=value)


@settings(max_examples=60, deadline=None)
@given(n_core=st.integers(2, 6), r=st.floats(-1.0, 1.5))
def test_feature_correlation_is_accepted_exactly_where_the_covariance_is_positive_definite(n_core, r):
    smallest_eigenvalue = np.linalg.eigvalsh((1 - r) * np.eye(n_core) + r).min()
    assume(abs(smallest_eigenvalue) > 1e-9)  # rounding decides the boundary itself
    if smallest_eigenvalue > 0:
        GaussianSpurious(n_core=n_core, feature_correlation=r)
    else:
        with pytest.raises(ParameterError, match="feature_correlation"):
            GaussianSpurious(n_core=n_core, feature_correlation=r)


@pytest.mark.parametrize("name", ["misspecified_correlated", "misspecified_heavy_tails",
                                  "misspecified_mixture", "multiclass_spurious"])
def test_scenario_file_loads(name):
    scenario = load_scenario(DATASETS_DIR / f"{name}.toml")
    assert scenario.family == "gaussian_spurious"
    assert isinstance(scenario.generator(), GaussianSpurious)
