"""`real_table`: a real table with a natural group attribute, under one of two shift mechanisms
(or none: the plain table).

The table is a catalogue entry (``table``: see `_tables.CATALOGUE` and datasets/README.md; the
`data` extra) or the user's own CSV / parquet file (``path``, relative to the spec file or absolute,
with ``label``, optional ``positive`` and the ``attribute`` / ``domain`` columns; ``file_sha256``
pins the file's bytes, and a spec fills it in, so an edited file changes the scenario's hash).
Its features are the canonical table's (`_tables.canonical`); the natural attribute and domain
columns are never core features. Each table is one data-generating process: ``family = "table:<name>"`` (for a
user file, its stem), whatever the mechanism.

``mechanism = "agreement"`` (Waterbirds on a table). A binary attribute a is 1 where the natural
``attribute`` takes one of ``attribute_values`` (default: the larger of two values). It is also the
last feature column, with role "spurious"; its counterfactual flips it. A sample of n rows keeps
the pool's class shares (largest remainder) and, within each class y, takes round(r * n_y) rows
with a = y and the rest with a != y, where

* shift 0: ``r = rho`` (the training distribution);
* shift 1: ``r = 1 - rho``; linear between (`base.agreement`), so P(a = y) = r up to rounding.

``mechanism = "unseen_domain"``. Training rows come from the domains (values of the ``domain``
column) that are not held out: ``held_out`` lists them, or ``held_out_share`` draws that share of
the domains afresh for each seed. A test sample at shift s takes round(s * n) rows from the
held-out domains and the rest from held-out rows of the training domains, each without
replacement and in its natural class mix (so the label rate may move with the shift: the majority
rate per row shows it). The domain is not a feature; attr = 1 for a held-out domain's row.
``groups`` (this mechanism only) replaces the group 2 y + attr: ``"training_domains"`` makes it the
row's domain d (its index among the sorted domain names), so a training draw's groups are exactly
the training domains, what DomainBed's group DRO is given (`datasets/domainbed_*.toml`);
``"training_domains_by_class"`` makes it 2 d + y, the training domains x class (balancing those
also balances the classes). Rows of a held-out domain get their own ids.

``mechanism = "none"``. The plain table without shift, for experiments that need the table as it
is (learning curves: Ng & Jordan's naive Bayes against logistic regression). A sample of n rows
keeps the pool's class shares (largest remainder, every class at least one row); attr = 0 on every
row, so group = 2 y and worst-group accuracy is worst-class accuracy. It has only shift 0: a draw
at any other level is a ParameterError (there is no other distribution to move to).

All: group = 2 y + attr (worst-group accuracy); rows are split into disjoint train, validation and
test pools (``test_fraction`` of each (y, attr) stratum, or of each class of the training domains,
held out for testing, then `_real.VALIDATION_FRACTION` of the rest for validation: the validation
sample is from the training distribution, and under "unseen_domain" from the training domains
only, DomainBed's training-domain validation) afresh for every seed (`resplit`, the harness's
stream); every draw is without replacement, and a group too small for the asked size and
agreement is a one-line ParameterError naming the table, the group and both counts (checked
when a spec is loaded, through `check_sizes`). There is no Bayes oracle for real data (the oracle
methods return None); the harness's invariant reference is the same model refitted on the core
columns.

Parameters
----------
table : a catalogue table (`_tables.CATALOGUE`); give it or ``path``, not both.
mechanism : "agreement" (the attribute's agreement with the label reverses), "unseen_domain"
    (test rows from held-out domains) or "none" (the plain table, shift 0 only).
attribute : the natural attribute column ("agreement" only).
attribute_values : its values that count as a = 1 (optional for a two-valued column).
rho : P(a = y) in training, in [0, 1] (required by "agreement").
domain : the domain column ("unseen_domain" only).
held_out : the held-out domains ("unseen_domain"; or ``held_out_share``).
held_out_share : the share of the domains held out, drawn afresh for each seed, in (0, 1).
path : your own .csv or .parquet file, relative to the spec file or absolute.
label : the label column of your file (exactly two values).
positive : which label value is y = 1 (default: the larger of the two).
file_sha256 : pins your file's bytes (a spec fills it in when absent).
test_fraction : share of each stratum held out for testing, in (0, 1).
split_seed : seed of the split outside the harness, which splits afresh for every seed.
groups : "training_domains" (a row's group is its domain) or "training_domains_by_class" (domain
    x class), for models given group labels ("unseen_domain" only).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from spurbench.errors import ParameterError
from spurbench.generators._real import VALIDATION_FRACTION, RowPool, _allocate
from spurbench.generators._tables import CATALOGUE, Table, load_catalogue_table
from spurbench.generators._user_table import file_digest, load_user_table, value_text
from spurbench.generators.base import (
    SPLITS,
    Generator,
    Sample,
    agreement,
    check_choice,
    check_int,
    check_probability,
)
from spurbench.registry import register_generator

MECHANISMS = ("agreement", "unseen_domain", "none")
# unseen_domain's group: 2 y + attr, the domain d, or 2 d + y
GROUPINGS = ("held_out", "training_domains", "training_domains_by_class")


def _values(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(
            isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        raise ParameterError(name, f"must be a non-empty list of values, got {value!r}")
    return tuple(value_text(v) for v in value)


def _absent(mechanism: str, **named: Any) -> None:
    for name, value in named.items():
        if value is not None:
            raise ParameterError(name, f"is not used by mechanism {mechanism!r}; remove it")


@register_generator("real_table")
class RealTable(Generator):
    """A real table with a natural attribute: agreement resampling, an unseen domain, or no shift."""

    n_classes = 2
    source = "real table"

    def __init__(self, table: str | None = None, mechanism: str = "agreement",
                 attribute: str | None = None, attribute_values: list | None = None,
                 rho: float | None = None, domain: str | None = None, held_out: list | None = None,
                 held_out_share: float | None = None, path: str | None = None,
                 label: str | None = None, positive: Any = None, file_sha256: str | None = None,
                 test_fraction: float = 0.5, split_seed: int = 0, groups: str | None = None):
        self.mechanism = check_choice("mechanism", mechanism, MECHANISMS)
        self.test_fraction = check_probability("test_fraction", test_fraction, open_interval=True)
        self.split_seed = check_int("split_seed", split_seed, maximum=2**32 - 1)
        if file_sha256 is not None:
            if path is None:
                raise ParameterError("file_sha256", "pins your own file (path); remove it")
            found = file_digest(path)
            if found != file_sha256:
                raise ParameterError("file_sha256", f"{Path(path).name} has SHA-256 {found[:12]}..., "
                                     f"not the pinned {str(file_sha256)[:12]}...: the file changed")
        self.data = self._load(table, path, label, positive, attribute, domain)
        self.name = self.data.name
        self.info = None if table is None else CATALOGUE[self.name]
        if self.mechanism == "agreement":
            _absent(self.mechanism, domain=domain, held_out=held_out, held_out_share=held_out_share,
                    groups=groups)
            if rho is None:
                raise ParameterError("rho", "is required for mechanism 'agreement' (P(a = y) in training)")
            self.rho = check_probability("rho", rho)
            self.attr = self._binary_attribute(attribute, attribute_values)
            self.X = np.hstack([self.data.X, self.attr[:, None].astype(np.float64)])
            self.roles = ("core",) * self.data.X.shape[1] + ("spurious",)
        elif self.mechanism == "none":
            _absent(self.mechanism, attribute=attribute, attribute_values=attribute_values, rho=rho,
                    domain=domain, held_out=held_out, held_out_share=held_out_share, groups=groups)
            self.X, self.roles = self.data.X, ("core",) * self.data.X.shape[1]
            self.attr = np.zeros(len(self.data.y), dtype=np.int64)
        else:
            _absent(self.mechanism, attribute=attribute, attribute_values=attribute_values, rho=rho)
            self.domains = self._natural("domain", domain)
            self.groups = check_choice("groups", "held_out" if groups is None else groups, GROUPINGS)
            if (held_out is None) == (held_out_share is None):
                raise ParameterError("held_out", "give exactly one of held_out (a list of domains) "
                                     "and held_out_share (a share of domains drawn per seed)")
            names = np.unique(self.domains)
            self.held_out, self.n_held_out = None, None  # drawn per seed / fixed by the spec
            if held_out_share is not None:
                share = check_probability("held_out_share", held_out_share, open_interval=True)
                self.n_held_out = min(max(round(share * len(names)), 1), len(names) - 1)
            else:
                self.held_out = _values("held_out", held_out)
                unknown = sorted(set(self.held_out) - set(names))
                if unknown or len(set(self.held_out)) == len(names):
                    raise ParameterError("held_out", f"table {self.name!r}: {unknown or 'every domain'} "
                                         f"cannot be held out; its {domain!r} values: "
                                         f"{', '.join(names[:20])}")
            self.X, self.roles = self.data.X, ("core",) * self.data.X.shape[1]
        self._split(np.random.default_rng(self.split_seed))

    # ---- the table -------------------------------------------------------------------------------

    @staticmethod
    def _load(table: Any, path: Any, label: Any, positive: Any, attribute: Any, domain: Any) -> Table:
        if (table is None) == (path is None):
            raise ParameterError("table", "give exactly one of table (a catalogue name) and path "
                                 "(your own CSV or parquet file)")
        for field, value in (("path", path), ("label", label), ("attribute", attribute),
                             ("domain", domain)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ParameterError(field, f"must be a name (text), got {value!r}")
        if path is not None:
            if label is None:
                raise ParameterError("label", "is required with path: the name of the label column")
            if positive is not None and not isinstance(positive, str | int | float):
                raise ParameterError("positive", f"must be one label value, got {positive!r}")
            return load_user_table(path, label, positive, attribute, domain)
        for field, value in (("label", label), ("positive", positive)):
            if value is not None:
                raise ParameterError(field, "belongs to your own table (path); a catalogue table "
                                     "has its label already")
        return load_catalogue_table(check_choice("table", table, sorted(CATALOGUE)))

    def _natural(self, field: str, column: Any) -> np.ndarray:
        if column is None:
            raise ParameterError(field, f"is required for mechanism {self.mechanism!r}; table "
                                 f"{self.name!r} has {', '.join(self.data.natural)}")
        if column not in self.data.natural:
            raise ParameterError(field, f"table {self.name!r} has no natural column {column!r}; "
                                 f"allowed: {', '.join(self.data.natural)}")
        return self.data.natural[column]

    def _binary_attribute(self, attribute: Any, values: Any) -> np.ndarray:
        column = self._natural("attribute", attribute)
        levels = sorted(np.unique(column))
        if values is None:
            if len(levels) != 2:
                raise ParameterError("attribute_values", f"{attribute!r} of table {self.name!r} has "
                                     f"{len(levels)} values ({', '.join(levels[:10])}); list those "
                                     "that count as a = 1")
            values = [levels[1]]
        chosen = _values("attribute_values", values)
        unknown = sorted(set(chosen) - set(levels))
        if unknown or set(chosen) >= set(levels):
            raise ParameterError("attribute_values", f"must be some but not all of the values of "
                                 f"{attribute!r} ({', '.join(levels[:10])}), got {list(chosen)}")
        return np.isin(column, chosen).astype(np.int64)

    # ---- the split -----------------------------------------------------------------------------

    def _split(self, rng: np.random.Generator) -> None:
        """Pools of this seed: held-out domains first (when drawn per seed), then the rows."""
        y = self.data.y
        if self.mechanism != "unseen_domain":
            self.group = 2 * y + self.attr
            pool = RowPool(self.group, self.test_fraction, self.split_seed, rng)
            self._pools = {s: pool.rows(s) for s in SPLITS}
            return
        if self.n_held_out is not None:
            names = np.unique(self.domains)
            self.held_out = tuple(sorted(rng.choice(names, self.n_held_out, replace=False)))
        out = np.isin(self.domains, self.held_out)
        self.attr = out.astype(np.int64)
        self.group = 2 * y + out
        if self.groups != "held_out":
            domain = np.unique(self.domains, return_inverse=True)[1]
            self.group = domain if self.groups == "training_domains" else 2 * domain + y
        inside = np.flatnonzero(~out)
        pool = RowPool(y[inside], self.test_fraction, self.split_seed, rng)
        self._pools = {**{s: inside[pool.rows(s)] for s in SPLITS}, "held_out": np.flatnonzero(out)}

    def resplit(self, rng: np.random.Generator) -> RealTable:
        """This family with a fresh split (and fresh held-out domains, when drawn) from `rng`."""
        other = copy.copy(self)
        other._split(rng)
        return other

    @classmethod
    def data_family(cls, params: Mapping[str, Any]) -> str:
        """One family per table (a user file: its stem), whatever the mechanism."""
        if params.get("path") is not None:
            return f"table:{Path(str(params['path'])).stem}"
        return f"table:{params.get('table')}"

    @classmethod
    def resolve_params(cls, params: dict[str, Any], spec_dir: Path) -> dict[str, Any]:
        """A relative ``path`` is read from the spec file's folder, and the file's SHA-256 joins
        the parameters (``file_sha256``, unless the spec pins it): the scenario's content hash, so
        its data streams and fit keys, then change when the file does, and resume refits."""
        path = params.get("path")
        if not isinstance(path, str) or not path:
            return params
        path = path if Path(path).is_absolute() else str((spec_dir / path).resolve())
        pinned = {} if not Path(path).is_file() or "file_sha256" in params else {
            "file_sha256": file_digest(path)}
        return {**params, "path": path, **pinned}

    def provenance(self) -> dict[str, Any]:
        """The table's source, licence, rows and content hash (run.json records it)."""
        base = {"table": self.name, "rows": len(self.data), "sha256": self.data.sha256}
        if self.info is None:
            return {**base, "source": "user file"}
        return {**base, "package": f"{self.info.package}=={metadata.version(self.info.package)}",
                "loader": self.info.call, "source": self.info.source, "licence": self.info.licence,
                "label": self.info.label}

    # ---- drawing -------------------------------------------------------------------------------

    def agreement(self, shift: float) -> float:
        """P(a = y) at `shift` (mechanism "agreement")."""
        return agreement(self.rho, shift)

    def group_counts(self, n: int, shift: float, split: str = "train") -> dict[int, int]:
        """Rows a draw of `n` at `shift` takes from each group 2 y + attr (its achieved sizes).

        Under "unseen_domain" only the held-out / in-domain totals are fixed (attr 1 / 0); the
        returned counts are then keyed by attr, not by group."""
        if self.mechanism == "unseen_domain":
            n_out = round(shift * n) if split == "test" else 0
            return {0: n - n_out, 1: n_out}
        pool = self._pools[check_choice("split", split, SPLITS)]
        y = self.data.y[pool]
        counts = _allocate(n, np.bincount(y, minlength=2))
        if self.mechanism == "none":
            return {2 * c: int(counts[c]) for c in (0, 1)}
        r = self.agreement(shift)
        out = {}
        for c in (0, 1):  # group 2 y + a: within class c, a = c agrees and a = 1 - c does not
            agree = round(r * counts[c])
            out[2 * c + c] = agree
            out[2 * c + 1 - c] = int(counts[c] - agree)
        return out

    def _take(self, rows: np.ndarray, k: int, rng: np.random.Generator, what: str, split: str) -> np.ndarray:
        if k > len(rows):
            raise ParameterError("n", f"table {self.name!r}: {what} needs {k} rows in the {split} pool, "
                                 f"which has {len(rows)}; use a smaller size or agreement, or a larger "
                                 "test_fraction")
        return rng.choice(rows, size=k, replace=False)

    def _group_name(self, g: int) -> str:
        attr = "held-out domain" if self.mechanism == "unseen_domain" else "a"
        return f"group (y={g // 2}, {attr}={g % 2})"

    def sample(self, n: int, shift: float, rng: np.random.Generator, split: str = "train") -> Sample:
        n = check_int("n", n, minimum=1, maximum=None)
        split = check_choice("split", split, SPLITS)
        if self.mechanism == "none" and shift != 0:
            raise ParameterError("shift", f"mechanism 'none' has only level 0 (the plain table), got "
                                 f"{shift:g}; use levels = [0.0]")
        counts = self.group_counts(n, shift, split)
        picked = []
        if self.mechanism != "unseen_domain":
            pool = self._pools[split]
            for g, k in counts.items():
                picked.append(self._take(pool[self.group[pool] == g], k, rng, self._group_name(g), split))
        else:
            for k, rows, what, pool in ((counts[0], self._pools[split], "the training domains", split),
                                        (counts[1], self._pools["held_out"], "the held-out domains",
                                         "held-out")):
                picked.append(self._take(rows, k, rng, what, pool))
        rows = rng.permutation(np.concatenate(picked))
        y, group, attr = self.data.y[rows], self.group[rows], self.attr[rows]
        X = self.X[rows]
        if self.mechanism != "agreement":
            return Sample(X=X, y=y, roles=self.roles, attr=attr, group=group)

        def flipped() -> np.ndarray:
            cf = X.copy()
            cf[:, -1] = 1.0 - cf[:, -1]
            return cf

        return Sample(X=X, y=y, roles=self.roles, attr=attr, group=group, X_counterfactual=flipped)

    def check_sizes(self, n_train: int, n_test: int) -> None:
        """Refuse sizes some group cannot supply (training at shift 0, test at shift 0 and 1, the
        extremes of every group's need), before anything is drawn. Validation takes what its pool
        can give (`validation_size`)."""
        for field, n, split, shifts in (("n_train", n_train, "train", (0.0,)),
                                        ("n_test", n_test, "test", (0.0, 1.0))):
            for shift in shifts:
                self._check_one(field, n, split, shift)

    def validation_size(self, n: int) -> int:
        """The largest size up to `n` whose shift-0 draw every group of the validation pool can
        supply without repeating a row (found by bisection: each group's need grows with n)."""
        low, high = 0, n
        while low < high:
            mid = (low + high + 1) // 2
            if self._shortfall(mid, 0.0, "validation") is None:
                low = mid
            else:
                high = mid - 1
        return max(low, 1)

    def _shortfall(self, n: int, shift: float, split: str) -> str | None:
        """Why pool `split` cannot supply a draw of `n` at `shift` (None when it can)."""
        counts = self.group_counts(n, shift, split)
        if self.mechanism != "unseen_domain":
            have = np.bincount(self.group[self._pools[split]], minlength=4)
            for g, k in counts.items():
                if k > have[g]:
                    how = (f"at shift {shift:g} (P(a = y) = {self.agreement(shift):g})"
                           if self.mechanism == "agreement" else "in its class share")
                    return (f"table {self.name!r}: {self._group_name(g)} needs {k} rows {how}, the "
                            f"{split} pool has {have[g]}")
            return None
        floors = self._domain_floors()
        for what, k, have in (("the training domains", counts[0], floors[split]),
                              ("the held-out domains", counts[1], floors["held_out"])):
            if k > have:
                return (f"table {self.name!r}: {what} must supply {k} {split} rows at shift "
                        f"{shift:g}, and have {have}")
        return None

    def _check_one(self, field: str, n: int, split: str, shift: float) -> None:
        problem = self._shortfall(n, shift, split)
        if problem is not None:
            raise ParameterError(field, problem)

    def _domain_floors(self) -> dict[str, int]:
        """Rows in each pool; when domains are drawn per seed, the fewest any draw can give
        (the smallest domains held out, or the largest ones; one row of rounding per class)."""
        if self.n_held_out is None:
            return {k: len(v) for k, v in self._pools.items()}
        sizes = np.sort(np.unique(self.domains, return_counts=True)[1])
        inside = len(self.domains) - int(sizes[-self.n_held_out:].sum())
        kept = (1 - self.test_fraction) * inside
        return {"held_out": int(sizes[: self.n_held_out].sum()),
                "train": int((1 - VALIDATION_FRACTION) * kept) - 2,
                "validation": int(VALIDATION_FRACTION * kept) - 2,
                "test": int(self.test_fraction * inside) - 2}

