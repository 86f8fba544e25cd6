"""`bayes_network`: rows of an expert Bayesian network, where the link from a target node to some
of its children (its symptoms) changes between training and test, as between two hospitals.

The networks are the bnlearn repository's discrete networks bundled in pgmpy 1.1.2's wheel (read
offline from their ``.bif.gz`` files, SHA-256 checked at load; see `_bn.BUNDLED`). The label y is
the state of the named `target` node. The features are every other node's state index as a float
(an ordinal code, in the state order of the BIF file), in the file's node order. No recoding
happens here: each model's own pipeline decides whether a code is a number or a category.

The shift: for each shifted child c with parents (t, o) (o: its other parents),

    P_s(c | t, o) = (1 - s) P(c | t, o) + s P(c | reverse(t), o),

where reverse maps the target's states in reverse order (for two states: the other one). At
shift 1 every shifted child answers to the target as it would to the reversed target. Nothing
else changes; descendants of a shifted child follow it through their own (unchanged) tables.

Roles: the shifted children and their descendants are "spurious" (their relation to y moves
with the shift); every other feature is "core".

Oracles, exact from the network's factors (`_bn.node_posterior`, vectorised over rows):

* ``posterior``: P(y | every other node) at shift s, i.e. P(y | Markov blanket): y's table times
  each child's (shifted) table, normalised.
* ``invariant_posterior``: P(y | the core features) at shift s. The spurious nodes are closed
  under descendants, so summing them out gives 1: the invariant posterior is P(y | blanket) of
  the training network with the shifted children's factors removed, the same function at every
  level (the reason the descendants are spurious too: a child's report would carry the shifted
  link).
* Bayes and invariant accuracies are left to the harness's Monte-Carlo oracle (`oracles.py`,
  200,000 draws from this sampler, with their standard error): an exact sum over the blanket's
  joint states would need the blanket's marginal, i.e. inference over all its ancestors.

Sampling is ancestral over the (shifted) tables in topological order, from the `rng` passed in
only. attr: whether the first shifted child shows its typical state for the row's y, i.e.
argmax_c P(c | y, o) of the *training* table given the row's other parents (ties: the first
state); group = 2 y + attr. At shift 1 the typical state of the reversed target is the likely
one, so the atypical groups grow from minorities into majorities.

Parameters
----------
network : a name in `_bn.BUNDLED` (asia, sachs, child, insurance, alarm, hepar2, win95pts).
target : the node whose state is the label; it must have children.
shifted : names of the target's children whose tables shift; default (empty): all its children.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np
from spurbench.errors import ParameterError
from spurbench.generators._bn import BUNDLED, DiscreteNetwork, load_bundled, posterior_with_missing
from spurbench.generators.base import Generator, Sample, Structure, check_choice, check_shift
from spurbench.registry import register_generator


def descendants(net: DiscreteNetwork, nodes: Sequence[int]) -> frozenset[int]:
    """`nodes` and every node below them."""
    found, stack = set(nodes), list(nodes)
    while stack:
        for child in net.children(stack.pop()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return frozenset(found)


def shifted_table(net: DiscreteNetwork, child: int, target: int, shift: float) -> np.ndarray:
    """P_s(child | parents): the training table mixed with its target-reversed copy."""
    table = net.tables[child]
    return (1.0 - shift) * table + shift * np.flip(table, axis=net.parents[child].index(target))


@register_generator("bayes_network")
class BayesNetwork(Generator):
    """An expert Bayesian network whose target-to-symptom link reverses between sites."""

    source = "network"
    discrete = True

    def __init__(self, network: str = "asia", target: str = "bronc", shifted: Sequence[str] = ()):
        self.network = check_choice("network", network, tuple(BUNDLED))
        self.net = net = load_bundled(network)
        if target not in net.names:
            raise ParameterError("target", f"must be a node of {network}, got {target!r}")
        self.target = target
        t = net.index(target)
        children = [net.names[c] for c in net.children(t)]
        if not children:
            raise ParameterError("target", f"{target!r} has no children in {network} to shift")
        if isinstance(shifted, str) or not all(isinstance(c, str) for c in shifted):
            raise ParameterError("shifted", f"must be a list of node names, got {shifted!r}")
        unknown = [c for c in shifted if c not in children]
        if unknown or len(set(shifted)) != len(shifted):
            raise ParameterError("shifted", f"must name distinct children of {target!r} "
                                 f"({', '.join(children)}), got {list(shifted)!r}")
        self.shifted = tuple(shifted) or tuple(children)
        self._t = t
        self._shifted = tuple(net.index(c) for c in self.shifted)
        self._features = tuple(i for i in range(len(net.names)) if i != t)
        self._spurious = descendants(net, self._shifted)
        self.n_classes = net.cardinalities[t]
        self.roles = tuple("spurious" if i in self._spurious else "core" for i in self._features)

    @classmethod
    def data_family(cls, params: Mapping[str, Any]) -> str:
        """One family per network (`network:<name>`), whatever the target or the shifted children."""
        return f"network:{params.get('network', 'asia')}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.net.names[i] for i in self._features)

    def network_at(self, shift: float) -> DiscreteNetwork:
        """The network whose tables describe the distribution at `shift`."""
        shift = check_shift(shift)
        return self.net.with_tables({c: shifted_table(self.net, c, self._t, shift)
                                     for c in self._shifted})

    @cached_property
    def _typical(self) -> np.ndarray:
        """The first shifted child's most likely state at training, per (its parents' states)."""
        return self.net.tables[self._shifted[0]].argmax(axis=-1)

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        states = self.network_at(shift).sample(n, rng)
        y = states[:, self._t]
        child = self._shifted[0]
        typical = self._typical[tuple(states[:, p] for p in self.net.parents[child])]
        attr = (states[:, child] == typical).astype(np.int64)
        return Sample(X=states[:, self._features].astype(float), y=y, roles=self.roles,
                      attr=attr, group=2 * y + attr)

    def structure(self) -> Structure:
        column = {node: j for j, node in enumerate(self._features)} | {self._t: len(self._features)}
        order = [*self._features, self._t]
        return Structure(tuple(tuple(column[p] for p in self.net.parents[v]) for v in order),
                         tuple(self.net.cardinalities[v] for v in order))

    # -- oracles -----------------------------------------------------------------------------
    def _codes(self, X: np.ndarray) -> np.ndarray:
        """Rows of node states (float, NaN = unobserved) with the target's column inserted."""
        codes = np.full((len(X), len(self.net.names)), np.nan)
        codes[:, self._features] = X
        return codes

    def posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return posterior_with_missing(self.network_at(shift), self._codes(X), self._t)

    def invariant_posterior(self, X: np.ndarray, shift: float) -> np.ndarray:
        return posterior_with_missing(self.network_at(shift), self._codes(X), self._t,
                                      self._spurious)
