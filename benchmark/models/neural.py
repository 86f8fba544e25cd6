"""The matched neural pair, `neural_flow` and `neural_mlp` (PyTorch, the `neural` extra).

`benchmark/models/__init__.py` imports this module only when torch is installed; the networks
live in `_neural_nets.py`, imported on the first fit, so listing models never pays torch's
import (about 2 s). See `_neural_nets.py` for the models and what the pair shares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spurbench.registry import register_model

if TYPE_CHECKING:
    from spurbench.models._neural_nets import NeuralFlowClassifier, NeuralMLPClassifier


@register_model("neural_flow", paradigm="generative", group="flexible_generative", tags={"sample"})
def neural_flow(random_state: int) -> NeuralFlowClassifier:
    """Per class, a MADE with Gaussian conditionals (one-layer MAF, 2x64 ReLU), Bayes' rule; torch.

    Matched with `neural_mlp` (same hidden layers, Adam lr 3e-3, weight decay 1e-2, 150 steps of
    128 rows, standardised inputs). Not tagged missing: the harness mean-imputes missing features.
    """
    from spurbench.models._neural_nets import NeuralFlowClassifier

    return NeuralFlowClassifier(random_state=random_state)


@register_model("neural_mlp", paradigm="discriminative", group="nonlinear_discriminative")
def neural_mlp(random_state: int) -> NeuralMLPClassifier:
    """ReLU MLP (2x64) on cross-entropy, the matched twin of `neural_flow`; torch.

    Same hidden layers, initialisation, optimiser (Adam lr 3e-3, weight decay 1e-2), 150 steps of
    128 rows and standardisation as `neural_flow`; only the output layer and the loss differ.
    """
    from spurbench.models._neural_nets import NeuralMLPClassifier

    return NeuralMLPClassifier(random_state=random_state)
