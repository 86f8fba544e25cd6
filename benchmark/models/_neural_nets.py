"""The PyTorch code of the matched neural pair (registered in `neural.py`, which imports it lazily).

A matched pair of neural classifiers: a learned class-conditional density and its twin.

`NeuralFlowClassifier` (``neural_flow``) is a generative classifier: per class, one MADE
(Germain et al., 2015) with Gaussian conditionals, i.e. a one-layer masked autoregressive flow
(Papamakarios et al., 2017), log p(x | y = k) = sum_i log N(x_i; mu_ki(x_<i), sigma_ki(x_<i)), with
the class prior from the training frequencies and P(y | x) by Bayes' rule (log-sum-exp).
`NeuralMLPClassifier` (``neural_mlp``) is the discriminative twin: an MLP trained on
cross-entropy. Everything but the output layer and the loss is shared (`_MatchedNetwork`): hidden
widths and depth (two ReLU layers of 64), initialisation, Adam (lr 3e-3, L2 weight decay 1e-2),
the same number of minibatch steps on the same minibatches (150 steps of min(n, 128) rows), and
inputs standardised with the training mean and standard deviation inside the estimator. The
budget keeps a fit near 0.1 s of CPU on 1,000 x 20 rows (README: the neural pair). Budget and
decay were set on toy data of our own, never on a scenario's draws: a 1e-4 decay let the flow
overfit 100 rows per class to below chance, and 100, 150 or 200 steps gave the same accuracy to
within 0.01. The flow's K MADEs are trained together on those minibatches, each row on its own
class's density, which is the same as training each on its own rows (their parameters are
disjoint).

Determinism: every random number (initialisation, minibatch order, samples) comes from a
`torch.Generator` seeded from `random_state`; fit and predict run on one thread with torch's
deterministic algorithms, restoring torch's previous settings on exit. Training runs in float32
(the speed), predictions in float64 with the trained weights, so a row's probabilities do not
depend on which other rows are scored with it (float32 products differed in the 7th digit with
the row order). No `missing` tag: an
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
from spurbench.evaluation.scaling import standardizer
from spurbench.models.class_conditional import ClassConditionalClassifier, log_scale_correction

LOG_SCALE_BOUND = 5.0  # |log sigma| of a conditional is soft-clamped below this (standardised units)
Layers = list[tuple[torch.Tensor, torch.Tensor]]
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults




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

    def __init__(self, hidden: tuple[int, ...] = (64, 64), steps: int = 150, batch_size: int = 128,
                 learning_rate: float = 3e-3, weight_decay: float = 1e-2, random_state: Any = None):
        self.hidden = hidden
        self.steps = steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.random_state = random_state

    def _train(self, sizes: list[int], stacks: int, loss: Any, Z: torch.Tensor, y: torch.Tensor,
               gen: torch.Generator, keep: torch.Tensor | None = None) -> Layers:
        """`steps` Adam steps on minibatches drawn without replacement, reshuffled each epoch.

        The weights live in one flat tensor and Adam (with L2 weight decay added to the gradient,
        as torch.optim.Adam's `weight_decay` does) is written out on it: at these sizes torch's
        per-operation and per-call overhead is most of a fit, and torch.optim.Adam costs ~0.4 ms
        a step, more than the forward and backward passes. `loss(layers, Z_batch, y_batch)` sees
        the weights as layers. `keep` (0/1, the flat layout) zeroes the weights a mask removes after
        every step, so masked weights stay exactly 0 without a masked product in every pass.
        Returns the trained layers.
        """
        flat = _init_weights(sizes, stacks, gen)
        if keep is not None:
            flat.mul_(keep)
        flat.requires_grad_()
        first, second = torch.zeros_like(flat), torch.zeros_like(flat)
        beta1, beta2 = ADAM_BETAS
        batch = min(len(Z), self.batch_size)
        order, position = torch.randperm(len(Z), generator=gen), 0
        for step in range(1, self.steps + 1):
            if position + batch > len(Z):
                order, position = torch.randperm(len(Z), generator=gen), 0
            rows = order[position:position + batch]
            position += batch
            (grad,) = torch.autograd.grad(loss(_layers(flat, sizes, stacks), Z[rows], y[rows]), flat)
            with torch.no_grad():
                grad.add_(flat, alpha=self.weight_decay)
                first.mul_(beta1).add_(grad, alpha=1 - beta1)
                second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (second / (1 - beta2**step)).sqrt_().add_(ADAM_EPS)
                flat.addcdiv_(first, denom, value=-self.learning_rate / (1 - beta1**step))
                if keep is not None:
                    flat.mul_(keep)
        return _layers(flat.detach().double(), sizes, stacks)  # predictions in float64 (module docs)


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


def _shapes(sizes: list[int], stacks: int) -> list[tuple[int, ...]]:
    """Weight and bias shapes of `stacks` stacked networks with these layer sizes."""
    return [shape for fan_in, fan_out in pairwise(sizes)
            for shape in ((stacks, fan_in, fan_out), (stacks, 1, fan_out))]


def _init_weights(sizes: list[int], stacks: int, gen: torch.Generator) -> torch.Tensor:
    """Flat initial weights of `stacks` networks; torch's default uniform(±1/sqrt(fan_in)) per layer."""
    parts = []
    for fan_in, fan_out in pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        for shape in ((stacks, fan_in, fan_out), (stacks, 1, fan_out)):  # the order of `_shapes`
            parts.append(((torch.rand(shape, generator=gen) * 2 - 1) * bound).flatten())
    return torch.cat(parts)


def _layers(flat: torch.Tensor, sizes: list[int], stacks: int) -> Layers:
    """(weight, bias) views of the flat weights, one pair per layer."""
    shapes = _shapes(sizes, stacks)
    counts = [math.prod(shape) for shape in shapes]
    views = [part.view(shape) for part, shape in zip(flat.split(counts), shapes, strict=True)]
    return list(zip(views[::2], views[1::2], strict=True))


def _forward(layers: Layers, Z: torch.Tensor) -> torch.Tensor:
    """ReLU network; (n, d) inputs give (stacks, n, out) outputs, one per stacked network."""
    h = Z
    for i, (weight, bias) in enumerate(layers):
        h = torch.matmul(h, weight) + bias
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
    class_loc_, class_scale_ : (K, d) per-class mean and standard deviation of the standardised
        rows: the fixed affine layer below each class's MADE, so an untrained MADE is Gaussian
        naive Bayes and the steps go to the dependencies (150 Adam steps of 3e-3 move a weight
        by at most 0.45, too little to learn a class mean from a bias).
    layers_ : per layer, (weights (K, in, out), biases (K, 1, out)) of the K class MADEs, the
        weights that MADE's masks remove exactly 0.
    """

    def _conditionals(self, Z: torch.Tensor, layers: Layers | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and log-scales of every conditional under every class, each (K, n, d)."""
        out = _forward(self.layers_ if layers is None else layers, Z)
        mu, raw = out.chunk(2, dim=-1)
        return mu, LOG_SCALE_BOUND * torch.tanh(raw / LOG_SCALE_BOUND)

    def _log_density(self, Z: torch.Tensor, layers: Layers | None = None) -> torch.Tensor:
        """log p(z | y = k) of standardised rows under every class, (K, n).

        Per class, z is first normalised by that class's mean and standard deviation (a fixed
        affine flow layer, with its log-Jacobian), then the MADE models what is left.
        """
        loc, scale = (torch.as_tensor(a, dtype=Z.dtype) for a in (self.class_loc_, self.class_scale_))
        V = (Z - loc[:, None, :]) / scale[:, None, :]
        mu, log_scale = self._conditionals(V, layers)
        u = (V - mu) * torch.exp(-log_scale)
        return (-(0.5 * u**2 + log_scale).sum(-1) - torch.log(scale).sum(-1)[:, None]
                - 0.5 * Z.shape[1] * math.log(2 * math.pi))

    def _fit_classes(self, X: np.ndarray, y_index: np.ndarray) -> None:
        self.mean_, self.scale_ = standardizer(X)
        d, n_classes = X.shape[1], len(self.classes_)
        standardised = (X - self.mean_) / self.scale_
        moments = [standardizer(standardised[y_index == k]) for k in range(n_classes)]
        self.class_loc_, self.class_scale_ = (np.array(m) for m in zip(*moments, strict=True))
        with _torch_session():
            gen = _generator(self.random_state)
            sizes = [d, *self.hidden, 2 * d]
            keep = torch.cat([part for mask in made_masks(d, self.hidden) for part in (
                mask.expand(n_classes, *mask.shape).flatten(), torch.ones(n_classes * mask.shape[1]))])
            Z = torch.as_tensor(standardised, dtype=torch.float32)

            def nll(layers: Layers, Zb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                own = self._log_density(Zb, layers)[yb, torch.arange(len(yb))]
                return -own.mean() / d

            self.layers_ = self._train(sizes, n_classes, nll, Z, torch.as_tensor(y_index), gen, keep)

    def class_log_density(self, X: Any) -> np.ndarray:
        """log p(x | y = k) in the original units, (n, n_classes)."""
        X = self._validated(X)
        with _torch_session(), torch.no_grad():
            log_p = self._log_density(torch.as_tensor((X - self.mean_) / self.scale_,
                                                      dtype=torch.float64))
        return log_p.double().numpy().T - log_scale_correction(X, self.scale_)[:, None]

    def _sample_class(self, k: int, n: int, rng: np.random.Generator) -> np.ndarray:
        """Ancestral sampling, one feature at a time (d forward passes)."""
        d = len(self.mean_)
        noise = torch.as_tensor(rng.standard_normal((n, d)))
        # every class's network runs on V; only class k's slice is filled and kept
        V = torch.zeros(len(self.classes_), n, d, dtype=torch.float64)
        with _torch_session(), torch.no_grad():
            for i in range(d):
                mu, log_scale = self._conditionals(V)
                V[k, :, i] = mu[k, :, i] + torch.exp(log_scale[k, :, i]) * noise[:, i]
        Z = self.class_loc_[k] + V[k].double().numpy() * self.class_scale_[k]
        return self.mean_ + Z * self.scale_


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
            Z = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32)

            def cross_entropy(layers: Layers, Zb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
                return torch.nn.functional.cross_entropy(_forward(layers, Zb)[0], yb)

            self.layers_ = self._train(sizes, 1, cross_entropy, Z, torch.as_tensor(y_index), gen)
        return self

    def predict_log_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with _torch_session(), torch.no_grad():
            logits = _forward(self.layers_, torch.as_tensor((X - self.mean_) / self.scale_,
                                                            dtype=torch.float64))[0]
        return log_softmax(logits.double().numpy(), axis=1)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        log_proba = self.predict_log_proba(X)
        return self.classes_[np.argmax(log_proba, axis=1)]
