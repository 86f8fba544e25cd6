"""Generative classifiers: they model P(x | y) P(y) and predict with Bayes' rule.

Every one can draw examples of a class (tag ``sample``), re-weight its class priors at test time
(``prior_shift``: the harness applies EM prior adaptation to its posteriors) and, except where
noted, evaluates the marginal density of the observed features when some are missing
(``missing``). Hyper-parameters are fixed here (the `fixed` protocol), never tuned on test data;
each `search_space` lists what the model-selection protocols try (benchmark/evaluation/selection.py); each
factory's docstring states the defaults, its first line being what ``spurbench list models`` prints.
"""

from __future__ import annotations

from spurbench.models.bernoulli import BernoulliNaiveBayes
from spurbench.models.gaussian_marginal import GaussianClassifier
from spurbench.models.kernel_density import KernelDensityClassifier
from spurbench.models.mixture import GaussianMixtureClassifier
from spurbench.registry import register_model

GENERATIVE_TAGS = frozenset({"sample", "missing", "prior_shift"})
REFERENCE = frozenset({"reference"})  # outside the declared panel (registry.PANEL)
VAR_SMOOTHING_GRID = [1e-9, 1e-3, 1e-1]  # share of the largest variance added to every variance


@register_model("gaussian_nb", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS, search_space={"var_smoothing": VAR_SMOOTHING_GRID})
def gaussian_nb(random_state: int) -> GaussianClassifier:
    """Gaussian naive Bayes: independent features, one variance per feature and class.

    Same predictions as sklearn's GaussianNB (var_smoothing 1e-9); missing features' terms are
    dropped.
    """
    return GaussianClassifier(covariance="diag")


@register_model("nb_shared_var", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS, search_space={"var_smoothing": VAR_SMOOTHING_GRID})
def nb_shared_var(random_state: int) -> GaussianClassifier:
    """Gaussian naive Bayes with one variance per feature shared by all classes (Ng & Jordan).

    Equivalently LDA with a diagonal covariance: a linear classifier, the generative twin of
    logistic regression. Variances pooled over classes with the class frequencies.
    """
    return GaussianClassifier(covariance="tied_diag")


@register_model("bernoulli_nb", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS | REFERENCE)
def bernoulli_nb(random_state: int) -> BernoulliNaiveBayes:
    """Bernoulli naive Bayes on features binarised at 0.5 (0/1 data) or the training median.

    Laplace smoothing alpha = 1. Samples come back as the median training value on each side of
    the threshold (see benchmark/models/bernoulli.py).
    """
    return BernoulliNaiveBayes(alpha=1.0)


@register_model("lda", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS | REFERENCE)
def lda(random_state: int) -> GaussianClassifier:
    """Linear discriminant analysis: Gaussian classes sharing one full covariance.

    Maximum-likelihood covariance pooled with the class frequencies (= sklearn's LDA).
    """
    return GaussianClassifier(covariance="tied")


@register_model("lda_shrinkage", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS, search_space={"reg_param": [0.0, 0.1, 0.5]})
def lda_shrinkage(random_state: int) -> GaussianClassifier:
    """LDA with Ledoit-Wolf shrinkage of the shared covariance.

    Per-class Ledoit-Wolf on standardised features, then pooled (= sklearn's LDA with
    shrinkage="auto"): stable when features are many and rows few.
    """
    return GaussianClassifier(covariance="tied", shrinkage="ledoit_wolf")


@register_model("qda", paradigm="generative", group="parametric_generative",
                tags=GENERATIVE_TAGS, search_space={"reg_param": [0.01, 0.1, 0.5, 0.9]})
def qda(random_state: int) -> GaussianClassifier:
    """Quadratic discriminant analysis, covariance regularised by 0.1 toward the identity.

    Each class covariance is 0.9 * its ML estimate + 0.1 * I (sklearn's reg_param = 0.1), so it
    stays invertible when a class has fewer rows than features.
    """
    return GaussianClassifier(covariance="full", reg_param=0.1)


@register_model("gmm_classifier", paradigm="generative", group="flexible_generative",
                tags=GENERATIVE_TAGS,
                search_space={"max_components": [1, 3], "covariance_type": ["full", "diag"]})
def gmm_classifier(random_state: int) -> GaussianMixtureClassifier:
    """Class-conditional Gaussian mixtures, 1 to 3 full-covariance components chosen by BIC.

    On standardised features, reg_covar 1e-3, k-means++ initialisation; a candidate with more
    parameters than the class has rows is not fitted (see benchmark/models/mixture.py).
    """
    return GaussianMixtureClassifier(max_components=3, covariance_type="full", reg_covar=1e-3,
                                     random_state=random_state)


@register_model("kde_classifier", paradigm="generative", group="flexible_generative",
                tags=GENERATIVE_TAGS, search_space={"bandwidth": ["scott", 0.25, 0.5, 1.0]})
def kde_classifier(random_state: int) -> KernelDensityClassifier:
    """Class-conditional Gaussian kernel density estimates, Scott's bandwidth.

    On standardised features, kernel width n_k ** (-1 / (d + 4)) per class of n_k rows.
    """
    return KernelDensityClassifier(bandwidth="scott")


@register_model("gaussian_nb_imputed", paradigm="generative", group="parametric_generative",
                tags={"sample", "prior_shift", "reference", "opt_in"})
def gaussian_nb_imputed(random_state: int) -> GaussianClassifier:
    """`gaussian_nb` without marginalisation: the harness mean-imputes its missing features.

    Separates strategy from paradigm in the missing-features experiment: the same generative
    model, given imputed inputs as every discriminative model is.
    """
    return GaussianClassifier(covariance="diag")
