"""Categorical generative models for discrete features: a Bayesian network on a known structure,
and categorical naive Bayes.

Discrete families (`bayes_network`) hand every model the same ordinal codes 0..K-1 as floats; no
global recoding happens. These two models treat each code as a category of its own (the panel's
models read it as a number).

* ``bn_known_structure`` (`KnownStructureBayesNet`): told the true DAG and state counts through
  `set_structure` (the harness passes `Generator.structure()` before fit, never the tables), it
  counts each node's table P(node | parents) with Laplace (Dirichlet) smoothing ``alpha`` and
  predicts P(y | the rest) exactly: y's table times its children's, normalised. A NaN feature is
  summed out exactly (`_bn.node_posterior`). Without a structure (a continuous family, the
  scikit-learn checks) it falls back to the naive-Bayes DAG y -> every feature, with each
  feature's categories learned from training (one extra category for values never seen there).
  It is the first model here whose assumptions can hold exactly.
* ``categorical_nb`` (`CategoricalNaiveBayes`): scikit-learn's CategoricalNB on each feature's
  training categories, plus one category for unseen values (so ``min_categories`` comes from the
  data, and a test code absent from training does not break it). Missing values reach it
  mean-imputed by the harness, i.e. as an unseen value.

Both are parametric generative, tagged ``reference`` (outside the declared panel, so out of the
paradigm averages) and ``opt_in`` (they run only where a spec names them).
"""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.naive_bayes import CategoricalNB
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from spurbench.generators._bn import DiscreteNetwork, posterior_with_missing
from spurbench.generators.base import Structure
from spurbench.registry import register_model

CATEGORICAL_TAGS = frozenset({"reference", "opt_in"})


def _learn_categories(X: np.ndarray) -> list[np.ndarray]:
    return [np.unique(X[:, j]) for j in range(X.shape[1])]


def _encode(X: np.ndarray, categories: list[np.ndarray]) -> np.ndarray:
    """Per feature, the index of each value among the training categories; a value never seen
    there gets the extra code len(categories); NaN stays NaN."""
    codes = np.full(X.shape, np.nan)
    for j, cats in enumerate(categories):
        values = X[:, j]
        at = np.minimum(np.searchsorted(cats, values), len(cats) - 1)
        codes[:, j] = np.where(cats[at] == values, at, len(cats))
        codes[np.isnan(values), j] = np.nan
    return codes


def _counted_table(codes: np.ndarray, node: int, parents: tuple[int, ...],
                   cards: tuple[int, ...], alpha: float) -> np.ndarray:
    """P(node | parents) from counts plus `alpha` in every cell, shape (*K_parents, K_node)."""
    dims = tuple(cards[v] for v in (*parents, node))
    flat = np.ravel_multi_index(tuple(codes[:, v] for v in (*parents, node)), dims)
    counts = np.bincount(flat, minlength=int(np.prod(dims))).reshape(dims) + alpha
    return counts / counts.sum(axis=-1, keepdims=True)


class KnownStructureBayesNet(ClassifierMixin, BaseEstimator):
    """Bayesian network on a known DAG, tables counted with Laplace smoothing `alpha`.

    Attributes
    ----------
    classes_ : the label's states (0..K-1 with a structure; the training labels without).
    network_ : `_bn.DiscreteNetwork` of the fitted tables; node d (the last) is the label.
    categories_ : per feature, its training values (naive-Bayes fallback only), else None.
    """

    marginalises_missing = True

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "alpha": [Interval(Real, 0, None, closed="neither")]}

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def set_structure(self, structure: Structure | None) -> None:
        """The DAG and state counts the next `fit` uses (None: the naive-Bayes DAG)."""
        self._structure = structure

    def fit(self, X: Any, y: Any) -> KnownStructureBayesNet:
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        d = X.shape[1]
        structure = getattr(self, "_structure", None)
        if structure is None:
            self.categories_ = _learn_categories(X)
            self.classes_, y_index = np.unique(y, return_inverse=True)
            parents = ((d,),) * d + ((),)
            cards = (*(len(c) + 1 for c in self.categories_), len(self.classes_))
        else:
            if len(structure.parents) != d + 1:
                raise ValueError(f"the structure has {len(structure.parents) - 1} features, X has {d}")
            self.categories_ = None
            parents, cards = structure.parents, structure.cardinalities
            self.classes_ = np.arange(cards[-1])
            y_index = np.asarray(y).astype(np.int64)
            if not np.array_equal(y_index, y) or y_index.min() < 0 or y_index.max() >= cards[-1]:
                raise ValueError(f"labels must be the label's states 0..{cards[-1] - 1}")
        codes = np.column_stack([self._codes(X, cards), y_index]).astype(np.int64)
        tables = tuple(_counted_table(codes, v, parents[v], cards, self.alpha)
                       for v in range(d + 1))
        self.network_ = DiscreteNetwork(tuple(map(str, range(d + 1))),
                                        tuple(tuple(map(str, range(k))) for k in cards),
                                        tuple(parents), tables)
        return self

    def _codes(self, X: np.ndarray, cards: tuple[int, ...]) -> np.ndarray:
        """Feature states as floats (NaN kept); refused when outside a structure's states."""
        if self.categories_ is not None:
            return _encode(X, self.categories_)
        observed = X[~np.isnan(X)]
        limits = np.broadcast_to(np.asarray(cards[:-1]), X.shape)[~np.isnan(X)]
        if np.any(observed != np.round(observed)) or np.any((observed < 0) | (observed >= limits)):
            raise ValueError("features must be integer state codes 0..K-1 of the structure")
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        codes = self._codes(X, self.network_.cardinalities)
        codes = np.column_stack([codes, np.full(len(X), np.nan)])
        return posterior_with_missing(self.network_, codes, X.shape[1])

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


class CategoricalNaiveBayes(ClassifierMixin, BaseEstimator):
    """scikit-learn's CategoricalNB on training categories plus one for unseen values.

    Attributes
    ----------
    classes_ : the training labels.
    categories_ : per feature, its training values.
    estimator_ : the fitted CategoricalNB (min_categories = training categories + 1).
    """

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, X: Any, y: Any) -> CategoricalNaiveBayes:
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.categories_ = _learn_categories(X)
        sizes = np.array([len(c) + 1 for c in self.categories_])
        self.estimator_ = CategoricalNB(alpha=self.alpha, min_categories=sizes)
        self.estimator_.fit(_encode(X, self.categories_).astype(np.int64), y)
        self.classes_ = self.estimator_.classes_
        return self

    def _encoded(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _encode(X, self.categories_).astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        codes = self._encoded(X)
        return self.estimator_.predict_proba(codes)

    def predict(self, X: Any) -> np.ndarray:
        codes = self._encoded(X)
        return self.estimator_.predict(codes)


@register_model("bn_known_structure", paradigm="generative", group="parametric_generative",
                tags=CATEGORICAL_TAGS | {"missing"})
def bn_known_structure(random_state: int) -> KnownStructureBayesNet:
    """Bayesian network on the family's true DAG, tables counted with Laplace smoothing 1.

    Falls back to categorical naive Bayes where a family has no structure; NaN features are
    summed out exactly.
    """
    return KnownStructureBayesNet(alpha=1.0)


@register_model("categorical_nb", paradigm="generative", group="parametric_generative",
                tags=CATEGORICAL_TAGS)
def categorical_nb(random_state: int) -> CategoricalNaiveBayes:
    """Categorical naive Bayes (scikit-learn's CategoricalNB, alpha 1) on each feature's codes."""
    return CategoricalNaiveBayes(alpha=1.0)
