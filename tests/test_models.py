"""The model zoo: every registered model fits and predicts, the Gaussian ones match sklearn's,
and the capabilities the tags promise (sample, missing) hold."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.naive_bayes import BernoulliNB, GaussianNB
from spurbench.models.bernoulli import BernoulliNaiveBayes
from spurbench.models.kernel_density import KernelDensityClassifier, bandwidth_for
from spurbench.models.mixture import GaussianMixtureClassifier
from spurbench.registry import get_model, list_models

LEARNERS = [e.name for e in list_models() if e.paradigm != "oracle"]
TAGGED = {tag: [e.name for e in list_models() if tag in e.tags and e.paradigm != "oracle"]
          for tag in ("sample", "missing")}
# Models of discrete features (the Bayesian-network families): the generic Gaussian data reach
# them binned into four ordinal codes, as those families' features are.
DISCRETE = frozenset({"bn_known_structure", "categorical_nb"})


def for_model(name: str, *arrays: np.ndarray) -> list[np.ndarray]:
    """`arrays` as `name` reads them: binned at the fixed edges -1, 0.5, 2 (NaN kept) for a model
    of discrete features, unchanged otherwise."""
    if name not in DISCRETE:
        return list(arrays)
    return [np.where(np.isnan(a), np.nan, np.digitize(a, [-1.0, 0.5, 2.0])) for a in arrays]


def gaussian_data(n: int, n_classes: int = 2, d: int = 4, seed: int = 0, shift: float = 2.0):
    """Classes with means `shift` apart on the first two features and correlated features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    mixing = np.eye(d) + 0.5 * rng.standard_normal((d, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d)) @ mixing
    X[:, 0] += shift * y
    X[:, 1] -= shift * (y == 1)
    return X, y


def test_list_shows_at_least_seven_models_per_paradigm_each_with_a_description():
    entries = [e for e in list_models() if e.paradigm != "oracle"]
    for paradigm in ("generative", "discriminative"):
        assert sum(e.paradigm == paradigm for e in entries) >= 7
    assert all(e.description and not e.description.endswith(",") for e in entries)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("name", LEARNERS)
def test_every_model_predicts_probabilities_that_beat_chance(name, n_classes):
    # Well-separated classes (means 2 sd apart): accuracy of the Bayes rule is ~0.8-0.9, so every
    # model should clear chance by a wide margin on 400 test rows (SE of accuracy <= 0.025).
    X, y = gaussian_data(300, n_classes, seed=1)
    Xt, yt = gaussian_data(400, n_classes, seed=2)
    X, Xt = for_model(name, X, Xt)
    model = get_model(name).build(random_state=0).fit(X, y)
    proba = model.predict_proba(Xt)
    assert proba.shape == (len(Xt), n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all((proba >= 0) & (proba <= 1))
    accuracy = np.mean(model.classes_[proba.argmax(axis=1)] == yt)
    assert accuracy > 1.0 / n_classes + 0.2


@pytest.mark.parametrize("name", LEARNERS)
def test_every_model_fits_a_learning_curve_sized_sample(name):
    # Learning curves start at a couple of rows per class; one class here has a single row.
    X, y = gaussian_data(40, 3, seed=8)
    rows = np.concatenate([np.flatnonzero(y == 0)[:2], np.flatnonzero(y == 1)[:2],
                           np.flatnonzero(y == 2)[:1]])
    model = get_model(name).build(random_state=0).fit(X[rows], y[rows])
    proba = model.predict_proba(X)
    assert proba.shape == (40, 3) and np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize(("name", "reference"), [
    ("gaussian_nb", GaussianNB()),
    ("lda", LinearDiscriminantAnalysis(solver="lsqr")),
    ("lda_shrinkage", LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
    ("qda", QuadraticDiscriminantAnalysis(reg_param=0.1)),
])
def test_gaussian_models_match_sklearn_on_complete_data(name, reference):
    # Same estimates; the only difference is the 1e-9 variance smoothing we add to every model.
    X, y = gaussian_data(300, 3)
    ours = get_model(name).build(random_state=0).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(ours, reference.fit(X, y).predict_proba(X), atol=1e-6)


def test_nb_shared_var_uses_the_diagonal_of_the_lda_covariance_for_every_class():
    X, y = gaussian_data(300, 3)
    shared = get_model("nb_shared_var").build(random_state=0).fit(X, y).covariances_
    tied = get_model("lda").build(random_state=0).fit(X, y).covariances_
    for k in range(3):
        np.testing.assert_allclose(shared[k], np.diag(np.diag(tied[0])))


def test_bernoulli_nb_matches_sklearn_on_binary_data_and_thresholds_at_the_median_otherwise():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    B = (rng.random((400, 6)) < np.where(y[:, None] == 1, 0.7, 0.3)).astype(float)
    ours = BernoulliNaiveBayes().fit(B, y)
    np.testing.assert_array_equal(ours.thresholds_, 0.5)
    np.testing.assert_allclose(ours.predict_proba(B), BernoulliNB(alpha=1.0).fit(B, y).predict_proba(B))
    X = rng.standard_normal((400, 3))
    np.testing.assert_allclose(BernoulliNaiveBayes().fit(X, y).thresholds_, np.median(X, axis=0))


# ---- missing features ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["gaussian_nb", "nb_shared_var", "lda", "qda"])
def test_gaussian_marginalisation_equals_refitting_on_the_observed_features(name):
    # The ML estimates of a Gaussian restricted to a subset of features are the restrictions of
    # the full estimates, so predicting with features 2.. missing must equal a model fitted on
    # features 0-1 alone (up to the 1e-9 variance smoothing, which depends on the largest
    # variance). Not lda_shrinkage: its shrinkage intensity depends on which features it sees.
    X, y = gaussian_data(300, 3)
    holes = X.copy()
    holes[:, 2:] = np.nan
    full = get_model(name).build(random_state=0).fit(X, y)
    sub = get_model(name).build(random_state=0).fit(X[:, :2], y)
    np.testing.assert_allclose(full.predict_proba(holes), sub.predict_proba(X[:, :2]), atol=1e-6)


def test_kde_marginalisation_equals_refitting_on_the_observed_features_at_a_fixed_bandwidth():
    X, y = gaussian_data(200, 2)
    holes = X.copy()
    holes[:, 1:3] = np.nan
    full = KernelDensityClassifier(bandwidth=0.5).fit(X, y)
    sub = KernelDensityClassifier(bandwidth=0.5).fit(X[:, [0, 3]], y)
    np.testing.assert_allclose(full.class_log_density(holes), sub.class_log_density(X[:, [0, 3]]))


def test_gmm_marginalisation_is_the_mixture_of_the_component_marginals():
    X, y = gaussian_data(400, 2, seed=3)
    model = GaussianMixtureClassifier(max_components=2, random_state=0).fit(X, y)
    holes = X[:20].copy()
    holes[:, [1, 2]] = np.nan
    observed = [0, 3]
    expected = []
    for weights, means, covariances in zip(model.weights_, model.means_, model.covariances_,
                                           strict=True):
        Z = (X[:20, observed] - model.mean_[observed]) / model.scale_[observed]
        parts = [np.log(w) + stats.multivariate_normal(m[observed], c[np.ix_(observed, observed)]).logpdf(Z)
                 for w, m, c in zip(weights, means, covariances, strict=True)]
        expected.append(logsumexp(parts, axis=0) - np.log(model.scale_[observed]).sum())
    np.testing.assert_allclose(model.class_log_density(holes), np.column_stack(expected))


@pytest.mark.parametrize("name", TAGGED["missing"])
def test_models_tagged_missing_predict_with_nan_and_fall_back_to_the_prior(name):
    X, y = gaussian_data(300, 3, seed=4)
    (X,) = for_model(name, X)
    model = get_model(name).build(random_state=0).fit(X, y)
    holes = X[:50].copy()
    holes[np.random.default_rng(0).random(holes.shape) < 0.4] = np.nan
    holes[0] = np.nan
    proba = model.predict_proba(holes)
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if getattr(model, "marginalises_missing", False):  # a density model; not trees' NaN branches
        # nothing observed: the prior (Laplace-smoothed counts (n_c + 1) / (n + K) for the discrete
        # models, within 1% of n_c / n at n = 300)
        np.testing.assert_allclose(proba[0], np.bincount(y) / len(y), rtol=0.01 if name in DISCRETE else 1e-7)


# ---- sampling ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", TAGGED["sample"])
def test_samples_have_the_class_mean_of_the_training_data(name):
    # Every model's class density reproduces its training mean (Gaussian/mixture ML estimates,
    # KDE centred on the training rows, Bernoulli frequencies on 0/1 data up to the Laplace term
    # (1 - 2p) / (n + 2) <= 0.01). Tolerance: 5 standard errors of the mean of 2000 draws + 0.01.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 400)
    if name == "bernoulli_nb":
        X = (rng.random((400, 3)) < np.where(y[:, None] == 1, 0.8, 0.3)).astype(float)
    else:
        X = rng.standard_normal((400, 3)) + 3.0 * y[:, None]
    model = get_model(name).build(random_state=0).fit(X, y)
    for label in (0, 1):
        draws = model.sample(2000, label, rng=np.random.default_rng(label))
        assert draws.shape == (2000, 3)
        tolerance = 5 * draws.std(axis=0) / np.sqrt(len(draws)) + 0.01
        assert np.all(np.abs(draws.mean(axis=0) - X[y == label].mean(axis=0)) < tolerance)


@pytest.mark.parametrize("name", TAGGED["sample"])
def test_sampling_is_reproducible_and_rejects_unknown_classes(name):
    X, y = gaussian_data(200, 2)
    model = get_model(name).build(random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.sample(5, 1, rng=3), model.sample(5, 1, rng=3))
    with pytest.raises(ValueError, match="not one of the fitted classes"):
        model.sample(5, 7)


# ---- mixture and kernel specifics ----------------------------------------------------------

def test_gmm_bic_picks_two_components_for_a_bimodal_class_and_one_for_a_gaussian_class():
    rng = np.random.default_rng(6)
    bimodal = rng.standard_normal((300, 2)) + np.where(rng.random(300) < 0.5, -4.0, 4.0)[:, None]
    gaussian = rng.standard_normal((300, 2))
    X, y = np.vstack([bimodal, gaussian]), np.repeat([0, 1], 300)
    model = GaussianMixtureClassifier(max_components=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.n_components_, [2, 1])


def test_gmm_does_not_fit_mixtures_with_more_parameters_than_rows():
    # d = 20 full covariance: 1 + 20 + 210 = 231 parameters per component > 150 rows per class.
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((300, 20)), np.repeat([0, 1], 150)
    model = GaussianMixtureClassifier(max_components=3, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.n_components_, [1, 1])


def test_kde_bandwidth_rules():
    assert bandwidth_for("scott", 100, 2) == pytest.approx(100 ** (-1 / 6))
    assert bandwidth_for("silverman", 100, 2) == pytest.approx(100 ** (-1 / 6))  # (d+2)/4 = 1
    assert bandwidth_for("silverman", 100, 6) == pytest.approx(200 ** (-1 / 10))
    assert bandwidth_for(0.3, 100, 6) == 0.3


@pytest.mark.parametrize("name", ["bayes_oracle", "invariant_oracle"])
def test_posterior_oracles_predict_the_labels_they_were_fitted_on(name):
    from spurbench.generators.gaussian_spurious import GaussianSpurious

    gen = GaussianSpurious(train_correlation=0.9, n_core=1, n_spurious=1, n_noise=1)
    sample = gen.sample(400, 0.5, np.random.default_rng(0))
    labels = np.array([3, 7])  # class j of the generator is the j-th label, in sorted order
    oracle = get_model(name).build(random_state=0).fit(sample.X, labels[sample.y])
    oracle.set_distribution(gen, 0.5)
    proba = oracle.predict_proba(sample.X)
    np.testing.assert_array_equal(oracle.classes_, labels)
    np.testing.assert_array_equal(oracle.predict(sample.X), labels[proba.argmax(axis=1)])
    assert oracle.score(sample.X, labels[sample.y]) == np.mean(proba.argmax(axis=1) == sample.y)
    # a training sample missing a class cannot name it: the generator's own labels 0..k-1 stand
    lone = get_model(name).build(random_state=0).fit(sample.X[:5], np.zeros(5, dtype=int))
    lone.set_distribution(gen, 0.5)
    np.testing.assert_array_equal(lone.classes_, [0, 1])
    assert set(lone.predict(sample.X)) <= {0, 1}
