"""Scenario specs: load `datasets/*.toml` (tomllib) into validated, typed `Scenario` objects.

Every problem is a `SpecError` naming the file, the field and what is allowed, raised before any
work starts, so a bad spec never touches stored results.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmark.errors import ParameterError, SpecError, SpurbenchError
from benchmark.generators.base import Generator
from benchmark.registry import get_generator

DATASETS_DIR = Path(__file__).resolve().parent / "datasets"  # a link to ../datasets in the repo

_TABLES = {
    "scenario": {"name", "family", "description", "experiment"},
    "params": None,  # validated by the family
    "shift": {"levels"},
    "run": {"n_train", "n_test", "seeds", "models", "spurious_controls"},
}
QUICK_N_TEST = 1000
QUICK_SEEDS = 2


@dataclass(frozen=True)
class Scenario:
    """One scenario: a generator family, its parameters and the grid it is swept over."""

    name: str
    family: str
    description: str
    params: dict[str, Any]
    shift_levels: tuple[float, ...]
    n_train: tuple[int, ...]
    n_test: int
    seeds: int
    models: tuple[str, ...] | None = None  # None: every registered model
    experiment: str | None = None  # groups the scenarios of one paper experiment
    # also score each model with its spurious features dropped at test time, and refitted without
    # them (the controllability experiment; see fitting.SpuriousControls)
    spurious_controls: bool = False
    path: Path | None = field(default=None, compare=False)

    def generator(self) -> Generator:
        """A fresh generator instance (already validated when the spec was loaded)."""
        return get_generator(self.family)(**self.params)

    def content_hash(self) -> str:
        """Hash of what determines a fit's numbers (not the name, file or seed count)."""
        content = {"family": self.family, "params": self.params,
                   "levels": list(self.shift_levels), "n_test": self.n_test}
        if self.spurious_controls:  # more rows per fit; absent otherwise, so other hashes stay
            content["spurious_controls"] = True
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]

    def quick(self) -> Scenario:
        """A small version of the grid that runs in seconds: ends and middle of the sweep,
        the smallest training size, fewer test points and seeds."""
        levels = self.shift_levels
        picked = sorted({levels[0], levels[len(levels) // 2], levels[-1]})
        return replace(self, shift_levels=tuple(picked), n_train=(min(self.n_train),),
                       n_test=min(self.n_test, QUICK_N_TEST), seeds=min(self.seeds, QUICK_SEEDS))


def _require(path: Path, table: dict, key: str, section: str) -> Any:
    if key not in table:
        raise SpecError(path, f"{section}.{key}", "is required")
    return table[key]


def _string(path: Path, value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(path, where, f"must be a non-empty string, got {value!r}")
    return value


def _int(path: Path, value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(path, where, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _flag(path: Path, value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, where, f"must be true or false, got {value!r}")
    return value


def _levels(path: Path, value: Any) -> tuple[float, ...]:
    where = "shift.levels"
    if not isinstance(value, list) or not value:
        raise SpecError(path, where, f"must be a non-empty list of numbers in [0, 1], got {value!r}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
            raise SpecError(path, where, f"every level must be a number in [0, 1], got {v!r}")
    levels = tuple(sorted({float(v) for v in value}))
    if levels[0] != 0.0:
        raise SpecError(path, where, "must include 0.0, the training distribution")
    return levels


def _sizes(path: Path, value: Any) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise SpecError(path, "run.n_train", "must list at least one training size")
    return tuple(sorted({_int(path, v, "run.n_train", minimum=2) for v in values}))


def _check_params(path: Path, family: str, params: dict[str, Any]) -> None:
    """Instantiate the family once so its own validation speaks, prefixed with the file."""
    cls = get_generator(family)
    allowed = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in params:
        if key not in allowed:
            raise SpecError(path, f"params.{key}",
                            f"is not a parameter of {family}; allowed: {', '.join(allowed)}")
    try:
        cls(**params)
    except ParameterError as exc:
        raise SpecError(path, f"params.{exc.field}", exc.message) from None


def parse_scenario(data: dict[str, Any], path: Path) -> Scenario:
    """Validate one parsed TOML document into a `Scenario`."""
    for table, value in data.items():
        if table not in _TABLES:
            raise SpecError(path, table, f"unknown table; allowed: {', '.join(_TABLES)}")
        if not isinstance(value, dict):
            raise SpecError(path, table, "must be a table ([...])")
        keys = _TABLES[table]
        for key in value if keys is not None else ():
            if key not in keys:
                raise SpecError(path, f"{table}.{key}",
                                f"unknown field; allowed: {', '.join(sorted(keys))}")
    if "scenario" not in data:
        raise SpecError(path, "scenario", "the [scenario] table is required")
    head = data["scenario"]
    name = _string(path, _require(path, head, "name", "scenario"), "scenario.name")
    family = _string(path, _require(path, head, "family", "scenario"), "scenario.family")
    try:
        get_generator(family)
    except SpurbenchError as exc:
        raise SpecError(path, "scenario.family", str(exc)) from None
    params = data.get("params", {})
    _check_params(path, family, params)
    run = data.get("run", {})
    models = run.get("models")
    if models is not None and (not isinstance(models, list)
                               or not all(isinstance(m, str) for m in models)):
        raise SpecError(path, "run.models", f"must be a list of model names, got {models!r}")
    return Scenario(
        name=name,
        family=family,
        description=str(head.get("description", "")),
        params=params,
        shift_levels=_levels(path, _require(path, data.get("shift", {}), "levels", "shift")),
        n_train=_sizes(path, run.get("n_train", [500])),
        n_test=_int(path, run.get("n_test", 2000), "run.n_test"),
        seeds=_int(path, run.get("seeds", 3), "run.seeds"),
        models=tuple(models) if models is not None else None,
        experiment=_string(path, head["experiment"], "scenario.experiment")
        if "experiment" in head else None,
        spurious_controls=_flag(path, run.get("spurious_controls", False), "run.spurious_controls"),
        path=path,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SpecError(path, None, "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(path, None, f"malformed TOML ({exc})") from None
    return parse_scenario(data, path)


def scenario_paths(targets: Sequence[str | Path] = ()) -> list[Path]:
    """Files named by `targets` (files, folders or scenario names); all of `datasets/` if empty."""
    if not targets:
        targets = [DATASETS_DIR]
    paths: list[Path] = []
    for target in targets:
        p = Path(target)
        if p.is_dir():
            paths.extend(sorted(p.glob("*.toml")))
        elif p.suffix == ".toml" or p.exists():
            paths.append(p)
        elif (DATASETS_DIR / f"{target}.toml").exists():
            paths.append(DATASETS_DIR / f"{target}.toml")
        else:
            close = difflib.get_close_matches(str(target), [f.stem for f in DATASETS_DIR.glob("*.toml")])
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise SpecError(p, None, f"no such scenario file or name in datasets/{hint}")
    return paths


def one_per_family(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """The first scenario of each family by name, preferring those outside paper experiments:
    what `run --quick` runs when no scenario is named, so it covers every family in seconds."""
    chosen: dict[str, Scenario] = {}
    for s in sorted(scenarios, key=lambda s: (s.experiment is not None, s.name)):
        chosen.setdefault(s.family, s)
    return sorted(chosen.values(), key=lambda s: s.name)


def load_scenarios(targets: Iterable[str | Path] = ()) -> list[Scenario]:
    """Load every named scenario; names must be unique."""
    scenarios = [load_scenario(p) for p in scenario_paths(list(targets))]
    seen: dict[str, Path | None] = {}
    for s in scenarios:
        if s.name in seen:
            raise SpecError(s.path, "scenario.name",
                            f"{s.name!r} is also the name of {seen[s.name]}; names must be unique")
        seen[s.name] = s.path
    return scenarios
