"""The PyTorch code of the matched neural pair (registered in `neural.py`, which imports it lazily).

A matched pair of neural classifiers: a learned class-conditional density and its twin.

`NeuralFlowClassifier` (``neural_flow``) is a generative classifier: per class, one MADE
(Germain et al., 2015) with Gaussian conditionals, i.e. a one-layer masked autoregressive flow
(Papamakarios et al., 2017), log p(x | y = k) = sum_i log N(x_i; mu_ki(x_<i), sigma_ki(x_<i)), with
the class prior from the training frequencies and P(y | x) by Bayes' rule (log-sum-exp).
`NeuralMLPClassifier` (``neural_mlp``) is the discriminative twin: an MLP trained on
cross-entropy. Everything but the output layer and the loss is shared (`_MatchedNetwork`): hidden
widths and depth (two ReLU layers of 64), initialisation, Adam (lr 3e-3, L2 weight decay 1e-2),
the same number of minibatch steps on the same minibatches (200 steps of min(n, 128) rows), and
inputs standardised with the training mean and standard deviation inside the estimator. The
budget keeps a fit near 0.2 s on 1,000 x 20 rows (README: the neural pair); the decay was set on
toy data of our own (a 1e-4 decay let the flow overfit 100 rows per class to below chance), never
on a scenario's draws. The flow's
K MADEs are trained together on those minibatches, each row on its own class's density, which is
the same as training each on its own rows (their parameters are disjoint).

Determinism: every random number (initialisation, minibatch order, samples) comes from a
`torch.Generator` seeded from `random_state`; fit and predict run on one thread with torch's
deterministic algorithms, restoring torch's previous settings on exit. No `missing` tag: an
autoregressive density marginalises a missing feature only when it comes last in the order, so
the harness mean-imputes for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import numpy as np
import torch
from scipy.special import log_softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from benchmark.models.class_conditional import (
    ClassConditionalClassifier,
    log_scale_correction,
    standardizer,
)

LOG_SCALE_BOUND = 5.0  # |log sigma| of a conditional is soft-clamped below this (standardised units)
Layers = list[tuple[torch.Tensor, torch.Tensor]]




class _MatchedNetwork(BaseEstimator):
    """What the two networks share: hidden layers below the output layer and the training budget.

    Parameters
    ----------
    hidden : tuple of int
        Widths of the hidden ReLU layers.
    steps : int
        Adam steps, each on a minibatch of min(n, batch_size) rows.
    batch_size : int
        Minibatch size.
    learning_rate, weight_decay : float
        Adam's step size and L2 penalty.
    random_state : int, RandomState or None
        Seeds initialisation and minibatch order.
    """

    def __init__(self, hidden: tuple[int, ...] = (64, 64), steps: int = 200, batch_size: int = 128,
                 learning_rate: float = 3e-3, weight_decay: float = 1e-2, random_state: Any = None):
        self.hidden = hidden
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.random_state = random_state

    def _train(self, layers: Layers, loss: Any, Z: torch.Tensor, y: torch.Tensor,
               gen: torch.Generator) -> None:
        """`steps` Adam steps on minibatches drawn without replacement, reshuffled each epoch."""
        params = [p for layer in layers for p in layer]
        optimiser = torch.optim.Adam(params, lr=self.learning_rate, weight_decay=self.weight_decay)
        batch = min(len(Z), self.batch_size)
        order, position = torch.randperm(len(Z), generator=gen), 0
        for _ in range(self.steps):
            if position + batch > len(Z):
                order, position = torch.randperm(len(Z), generator=gen), 0
            rows = order[position:position + batch]
            position += batch
            optimiser.zero_grad()
            loss(Z[rows], y[rows]).backward()
            optimiser.step()
        for p in params:
            p.requires_grad_(False)


@contextmanager
def _torch_session() -> Iterator[None]:
    """One thread and deterministic algorithms for the block; torch's settings restored after."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _generator(random_state: Any) -> torch.Generator:
    seed = int(check_random_state(random_state).randint(0, 2**31 - 1))
    return torch.Generator().manual_seed(seed)


def _init_layers(sizes: list[int], stacks: int, gen: torch.Generator) -> Layers:
    """`stacks` independent networks of these layer sizes; torch's default uniform(±1/sqrt(fan_in))."""
    layers = []
    for fan_in, fan_out in pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        weight = (torch.rand(stacks, fan_in, fan_out, generator=gen) * 2 - 1) * bound
        bias = (torch.rand(stacks, 1, fan_out, generator=gen) * 2 - 1) * bound
        layers.append((weight.requires_grad_(), bias.requires_grad_()))
    return layers


def _forward(layers: Layers, Z: torch.Tensor, masks: list[torch.Tensor] | None = None) -> torch.Tensor:
    """ReLU network; (n, d) inputs give (stacks, n, out) outputs, one per stacked network."""
    h = Z
    for i, (weight, bias) in enumerate(layers):
        h = torch.matmul(h, weight if masks is None else weight * masks[i]) + bias
        if i < len(layers) - 1:
            h = torch.relu(h)
    return h


def made_masks(d: int, hidden: tuple[int, ...]) -> list[torch.Tensor]:
    """MADE's connectivity masks for the natural order: output i (mean and log-scale) sees x_<i.

    Input j has degree j (1..d), hidden units cycle through degrees 1..d-1, a unit connects to one
    of the next layer whose degree is at least its own, and output i to hidden units of degree < i.
    """
    inputs = torch.arange(1, d + 1)
    degrees = [inputs] + [torch.arange(h) % max(1, d - 1) + 1 for h in hidden]
    masks = [(later[None, :] >= earlier[:, None]).float()
             for earlier, later in pairwise(degrees)]
    outputs = torch.cat([inputs, inputs])
    masks.append((outputs[None, :] > degrees[-1][:, None]).float())
    return masks


class NeuralFlowClassifier(ClassConditionalClassifier, _MatchedNetwork):
    """One MADE with Gaussian conditionals per class (a one-layer MAF), Bayes' rule.

    Parameters: those of `_MatchedNetwork` (hidden widths and training budget, shared with
    `NeuralMLPClassifier`); `sample` draws from its own `rng`.

    Attributes
    ----------
    mean_, scale_ : training mean and standard deviation per feature (standardisation).
    layers_ : per layer, (weights (K, in, out), biases (K, 1, out)) of the K class MADEs.
    masks_ : MADE masks per layer.
    """

    def _conditionals(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and log-scales of every conditional under every class, each (K, n, d)."""
        out = _forward(self.layers_, Z, self.masks_)
        mu, raw = out.chunk(2, dim=-1)
        return mu, LOG_SCALE_BOUND * torch.tanh(raw / LOG_SCALE_BOUND)

    def _log_density(self, Z: torch.Tensor) -> torch.Tensor:
        """log p(z | y = k) of standardised rows under every class, (K, n)."""
        mu, log_scale = self._conditionals(Z)
        u = (Z - mu) * torch.exp(-log_scale)
        return -(0.5 * u**2 + log_scale).sum(-1) - 0.5 * Z.shape[1] * math.log(2 * math.pi)

    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        self.mean_, self.scale_ = standardizer(X)
        d, n_classes = X.shape[1], len(self.classes_)
        with _torch_session():
            gen = _generator(self.random_state)
            self.masks_ = made_masks(d, self.hidden)
            self.layers_ = _init_layers([d, *self.hidden, 2 * d], n_classes, gen)
            Z = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)

            def nll(Zb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                own = self._log_density(Zb)[yb, torch.arange(len(yb))]
                return -own.mean() / d

            self._train(self.layers_, nll, Z, torch.as_tensor(y_index), gen)

    def class_log_density(self, X: Any) -> np.ndarray:
        """log p(x | y = k) in the original units, (n, n_classes)."""
        X = self._validated(X)
        with _torch_session(), torch.no_grad():
            log_p = self._log_density(torch.as_tensor((X - self.mean_) / self.scale_,
                                                      dtype=torch.float32))
        return log_p.double().numpy().T - log_scale_correction(X, self.scale_)[:, None]

    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Ancestral sampling, one feature at a time (d forward passes)."""
        d = len(self.mean_)
        noise = torch.as_tensor(rng.standard_normal((n, d)), dtype=torch.float32)
        Z = torch.zeros(n, d)
        with _torch_session(), torch.no_grad():
            for i in range(d):
                mu, log_scale = self._conditionals(Z)
                Z[:, i] = mu[k, :, i] + torch.exp(log_scale[k, :, i]) * noise[:, i]
        return self.mean_ + Z.double().numpy() * self.scale_


class NeuralMLPClassifier(ClassifierMixin, _MatchedNetwork):
    """A ReLU MLP trained on cross-entropy with the flow's architecture and training budget.

    Parameters: those of `_MatchedNetwork` (hidden widths and training budget, shared with
    `NeuralFlowClassifier`).

    Attributes
    ----------
    classes_, mean_, scale_, layers_ : labels, standardisation and the fitted weights.
    """

    def fit(self, X: Any, y: Any) -> NeuralMLPClassifier:
        """Standardise, then train `steps` Adam steps on the cross-entropy."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        self.mean_, self.scale_ = standardizer(X)
        with _torch_session():
            gen = _generator(self.random_state)
            sizes = [X.shape[1], *self.hidden, len(self.classes_)]
            self.layers_ = _init_layers(sizes, 1, gen)
            Z = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)

            def cross_entropy(Zb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                return torch.nn.functional.cross_entropy(_forward(self.layers_, Zb)[0], yb)

            self._train(self.layers_, cross_entropy, Z, torch.as_tensor(y_index), gen)
        return self

    def predict_log_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with _torch_session(), torch.no_grad():
            logits = _forward(self.layers_, torch.as_tensor((X - self.mean_) / self.scale_,
                                                            dtype=torch.float32))[0]
        return log_softmax(logits.double().numpy(), axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_log_proba(X), axis=1)]
