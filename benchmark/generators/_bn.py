"""Discrete Bayesian networks as arrays: ancestral sampling and exact posteriors of one node.

A `DiscreteNetwork` holds, per node, its parents and its conditional table P(node | parents) as
an array of shape (K_parent_1, ..., K_parent_k, K_node). States are integer codes 0..K-1. Both the
`bayes_network` family (tables from an expert network) and the `bn_known_structure` model (tables
counted from data on a known DAG) predict with `node_posterior`; the bundled networks are read
from pgmpy's wheel by `load_bundled`, once per process.

Exact posterior of a target t given every node but t and a hidden set H: the joint is the product
of every node's table; with all nodes outside H and t observed, the tables of nodes that involve
neither t nor H are constant, so P(t | observed) is proportional to the sum over the states of H
of the product of the tables of t, of H, and of their children. A hidden node whose children are
all hidden and summed out in turn (a barren node) sums to 1 and is dropped first; the remaining
states of (t, H) are enumerated, vectorised over rows. Work is in log space with log 0 = -inf
(win95pts has zero entries); a row whose evidence has probability 0 gets the uniform posterior.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
import warnings
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np
from scipy.special import logsumexp
from spurbench.errors import SpurbenchError

MAX_CONFIGURATIONS = 4096  # joint states of (target, hidden nodes) enumerated per row
EXTRA_HINT = 'pip install "spurbench[data]"'


@dataclass(frozen=True)
class DiscreteNetwork:
    """A DAG over discrete nodes with one conditional table per node (see the module docstring)."""

    names: tuple[str, ...]
    states: tuple[tuple[str, ...], ...]
    parents: tuple[tuple[int, ...], ...]
    tables: tuple[np.ndarray, ...]

    @cached_property
    def cardinalities(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.states)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, node: int) -> tuple[int, ...]:
        return tuple(i for i, pa in enumerate(self.parents) if node in pa)

    def topological_order(self) -> tuple[int, ...]:
        """Nodes, each after its parents (Kahn's algorithm, ties by node index)."""
        done: list[int] = []
        remaining = set(range(len(self.names)))
        while remaining:
            ready = sorted(i for i in remaining if not set(self.parents[i]) & remaining)
            if not ready:
                raise ValueError("the network has a cycle")
            done.extend(ready)
            remaining -= set(ready)
        return tuple(done)

    def with_tables(self, tables: dict[int, np.ndarray]) -> DiscreteNetwork:
        """The same DAG with some nodes' tables replaced."""
        return DiscreteNetwork(self.names, self.states, self.parents,
                               tuple(tables.get(i, t) for i, t in enumerate(self.tables)))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, nodes) integer states drawn ancestrally: one uniform per node and row, inverted
        through the cumulative table row its parents select."""
        columns: dict[int, np.ndarray] = {}
        for node in self.topological_order():
            cdf = self._cumulative[node]  # (rows of parent states, K)
            index = np.zeros(n, dtype=np.int64)
            for p in self.parents[node]:
                index = index * self.cardinalities[p] + columns[p]
            rows = np.take(cdf, index, axis=0)
            u = rng.random(n) * rows[:, -1]  # scaled: a row summing to 1 - 1e-16 is safe
            state = np.zeros(n, dtype=np.int64)
            for k in range(cdf.shape[1] - 1):
                state += u >= rows[:, k]
            columns[node] = state
        return np.column_stack([columns[i] for i in range(len(self.names))])

    @cached_property
    def _cumulative(self) -> tuple[np.ndarray, ...]:
        """Per node, its table's cumulative sums, one row per joint state of its parents."""
        return tuple(np.cumsum(t, axis=-1).reshape(-1, t.shape[-1]) for t in self.tables)

    def log_table(self, node: int) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.tables[node])


def _relevant_hidden(net: DiscreteNetwork, hidden: frozenset[int]) -> list[int]:
    """The hidden nodes left once barren ones are dropped: a hidden node is barren when every
    child of it is hidden and barren (summed out, its table and theirs give 1)."""
    barren: set[int] = set()
    grew = True
    while grew:
        before = len(barren)
        barren |= {h for h in hidden if all(c in barren for c in net.children(h))}
        grew = len(barren) > before
    return sorted(hidden - barren)


def node_posterior(net: DiscreteNetwork, states: np.ndarray, target: int,
                   hidden: frozenset[int] = frozenset()) -> np.ndarray:
    """P(target | every other node except `hidden`), (n, K_target), for rows of `states`.

    Parameters
    ----------
    net : the network.
    states : (n, nodes) integer states; the target's and the hidden nodes' columns are ignored.
    target : index of the node whose posterior is returned.
    hidden : nodes summed out (unobserved).
    """
    hidden = frozenset(hidden) - {target}
    enumerated = [target, *_relevant_hidden(net, hidden)]
    barren = hidden - set(enumerated)
    factors = sorted((set(enumerated) | {c for v in enumerated for c in net.children(v)}) - barren)
    cards = [net.cardinalities[v] for v in enumerated]
    n_configs = int(np.prod(cards))
    if n_configs > MAX_CONFIGURATIONS:
        raise ValueError(f"{n_configs} joint states of the target and hidden nodes to enumerate; "
                         f"at most {MAX_CONFIGURATIONS} are supported")
    configs = np.array(list(itertools.product(*map(range, cards))), dtype=np.int64)  # (C, m)
    position = {v: j for j, v in enumerate(enumerated)}

    def column(v: int) -> np.ndarray:  # broadcastable to (C, n)
        return configs[:, position[v], None] if v in position else states[None, :, v]

    log_joint = np.zeros((n_configs, len(states)))
    for f in factors:
        log_joint += net.log_table(f)[tuple(column(p) for p in (*net.parents[f], f))]
    log_joint = logsumexp(log_joint.reshape(cards[0], -1, len(states)), axis=1).T  # (n, K_target)
    log_norm = logsumexp(log_joint, axis=1, keepdims=True)
    impossible = ~np.isfinite(log_norm[:, 0])
    proba = np.exp(log_joint - np.where(impossible[:, None], 0.0, log_norm))
    proba[impossible] = 1.0 / cards[0]
    return proba


def posterior_with_missing(net: DiscreteNetwork, codes: np.ndarray, target: int,
                           hidden: frozenset[int] = frozenset()) -> np.ndarray:
    """`node_posterior` for rows whose NaN entries are hidden too, one pattern of NaN at a time.

    `codes` is (n, nodes) float; the target's column is ignored.
    """
    missing = np.isnan(codes)
    missing[:, target] = False
    states = np.where(missing, 0, np.nan_to_num(codes)).astype(np.int64)
    if not missing.any():
        return node_posterior(net, states, target, hidden)
    packed = np.ascontiguousarray(np.packbits(missing, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, which = np.unique(keys, return_index=True, return_inverse=True)
    proba = np.empty((len(codes), net.cardinalities[target]))
    for k, row in enumerate(first):
        rows = which.ravel() == k
        unobserved = frozenset(np.flatnonzero(missing[row]).tolist())
        proba[rows] = node_posterior(net, states[rows], target, frozenset(hidden) | unobserved)
    return proba


# ---- the networks bundled in pgmpy's wheel ------------------------------------------------------

# name -> SHA-256 of pgmpy 1.1.2's pgmpy/utils/example_models/<name>.bif.gz, checked at load
BUNDLED = {
    "asia":
        "7d5e7b8549834824c1b05f367eb7860fa3fca3adaf3649f0c7be6035af197197",
    "sachs":
        "ed1830fbde101ed50cce3c7a3c8cbf1d2f5225531cf35ff09fb3cec0af101bce",
    "child":
        "2bc3236dcbdbf9c9f1bbdeb060aa93c0bdee389d23a549b7248b9d89ed8a980c",
    "insurance":
        "92bcecd1b85387726af564bf1b50cd400ddbbea1b017303cc54d4654e50a8971",
    "alarm":
        "f5860caa7137b5817e0c4f169cce0f1451ce6c246b96f5ce4fb4a8167993be29",
    "hepar2":
        "f98d4a65c496b79d76b15797e6a6cbeafaff32a17d66a844d8e5b9506d379fcd",
    "win95pts":
        "a4987cf8c09d3aa034504b03ea3e5dc01c57ca20228e2bd79ec9a861c3aef684",
}


def _bundled_bytes(name: str) -> bytes:
    try:
        import pgmpy  # noqa: F401
    except ImportError:
        raise SpurbenchError(f"network {name!r} needs pgmpy; install it with {EXTRA_HINT}") from None
    return (resources.files("pgmpy") / "utils" / "example_models" / f"{name}.bif.gz").read_bytes()


@cache
def load_bundled(name: str) -> DiscreteNetwork:
    """The network `name` from pgmpy's wheel, its file's SHA-256 checked; parsed once per process
    (pgmpy's BIF parser takes seconds on the larger networks)."""
    raw = _bundled_bytes(name)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != BUNDLED[name]:
        raise SpurbenchError(f"network {name!r}: pgmpy's {name}.bif.gz has SHA-256 {digest}, "
                             f"expected {BUNDLED[name]}; install the pinned pgmpy with {EXTRA_HINT}")
    from pgmpy.readwrite import BIFReader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BIFReader(string=gzip.decompress(raw).decode()).get_model()
    cpds = {cpd.variable: cpd for cpd in model.get_cpds()}
    names = tuple(sorted(cpds, key=list(model.nodes()).index))
    states = tuple(tuple(cpds[v].state_names[v]) for v in names)
    parents, tables = [], []
    for v in names:
        cpd = cpds[v]
        evidence = cpd.variables[1:]
        for p in evidence:  # a parent's states must be listed in its own order everywhere
            if tuple(cpd.state_names[p]) != states[names.index(p)]:
                raise ValueError(f"{name}: {v}'s table lists {p}'s states in another order")
        parents.append(tuple(names.index(p) for p in evidence))
        tables.append(np.moveaxis(np.asarray(cpd.values, dtype=float), 0, -1))
    return DiscreteNetwork(names, states, tuple(parents), tuple(tables))
