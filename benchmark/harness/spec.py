"""Scenario specs: load `datasets/*.toml` (tomllib) into validated, typed `Scenario` objects.

Every problem is a `SpecError` naming the file, the field and what is allowed, raised before any
work starts, so a bad spec never touches stored results.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from spurbench.errors import ParameterError, SpecError, SpecErrors, SpurbenchError
from spurbench.generators.base import Generator
from spurbench.registry import PANEL, get_generator, get_model

DATASETS_DIR = Path(__file__).resolve().parents[1] / "datasets"  # a link to ../datasets in the repo

_TABLES = {
    "scenario": {"name", "family", "description", "experiment", "headline"},
    "params": None,  # validated by the family
    "shift": {"levels"},
    "run": {"n_train", "n_test", "seeds", "models", "spurious_controls", "selection"},
}
QUICK_N_TEST = 1000
QUICK_SEEDS = 2
# Upper bounds: a typo such as 10**12 must be refused before anything is generated.
MAX_SAMPLES = 1_000_000  # n_train and n_test
MAX_SEEDS = 1000
MAX_NAME = 80
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # safe in file names and URLs
MAX_SPEC_BYTES = 1_000_000
# A fit holds the training and test matrices several times over (counterfactual copy, imputed
# copy, the model's own work arrays); the largest fit must fit in this share of the machine.
MEMORY_COPIES = 10
PANEL_NAME = "panel"  # in run.models: the declared panel, in its declared order
MAX_HEADLINE_PER_FAMILY = 3
VALIDATION_SIZE = 2000  # rows of each fit's validation sample (at most the scenario's n_test)
MEMORY_SHARE = 0.5


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
    # in the declared headline suite (`[scenario] headline = true`): the scenarios, at most
    # MAX_HEADLINE_PER_FAMILY per family and chosen before the run, that the primary claims read
    headline: bool = False
    # also score each model with its spurious features dropped at test time, and refitted without
    # them (the controllability experiment; see fitting.SpuriousControls)
    spurious_controls: bool = False
    # also fit every configuration of each model's search space (True) or of the named models'
    # only (a tuple: the others run at their defaults, so their protocol rows repeat their fixed
    # rows), and store the rows of the selection protocols (see benchmark/evaluation/selection.py); it adds
    # fits, never changes one
    selection: bool | tuple[str, ...] = False
    path: Path | None = field(default=None, compare=False)

    def generator(self) -> Generator:
        """A fresh generator instance (already validated when the spec was loaded)."""
        return get_generator(self.family)(**self.params)

    @property
    def data_family(self) -> str:
        """The rows' `family`: the data-generating process (see `Generator.data_family`)."""
        return get_generator(self.family).data_family(self.params)

    def content_hash(self) -> str:
        """Hash of what determines a fit's numbers (not the name, file or seed count)."""
        content = {"family": self.family, "params": self.params,
                   "levels": list(self.shift_levels), "n_test": self.n_test}
        if self.spurious_controls:  # more rows per fit; absent otherwise, so other hashes stay
            content["spurious_controls"] = True
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]

    def searches(self, model: str) -> bool:
        """Whether `model`'s search space is fitted here (see `selection`)."""
        return self.selection is True or model in (self.selection or ())

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


def _int(path: Path, value: Any, where: str, minimum: int = 1, maximum: int = MAX_SAMPLES) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise SpecError(path, where, f"must be an integer from {minimum} to {maximum}, got {value!r}")
    return value


def _flag(path: Path, value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(path, where, f"must be true or false, got {value!r}")
    return value


def _selection(path: Path, value: Any, models: tuple[str, ...] | None) -> bool | tuple[str, ...]:
    """`run.selection`: true, false, or the models (of `run.models`) whose search spaces are fitted."""
    if not isinstance(value, list):
        return _flag(path, value, "run.selection")
    named = set(models) if models is not None else None
    if not value or not all(isinstance(m, str) and (named is None or m in named) for m in value):
        raise SpecError(path, "run.selection", f"must be true, false or a non-empty list of models "
                        f"of run.models, got {value!r}")
    for name in value:
        try:
            get_model(name)
        except SpurbenchError as exc:
            raise SpecError(path, "run.selection", str(exc)) from None
    return tuple(value)


def _name(path: Path, value: Any) -> str:
    name = _string(path, value, "scenario.name")
    if len(name) > MAX_NAME or not NAME_PATTERN.fullmatch(name):
        shown = name if len(name) <= MAX_NAME else name[:MAX_NAME] + "..."
        raise SpecError(path, "scenario.name", f"must be at most {MAX_NAME} letters, digits, '_', "
                        f"'.' or '-' (it names files), got {shown!r}")
    return name


def _models(path: Path, value: Any) -> tuple[str, ...] | None:
    """Registered model names only: a scenario file is data, so it never names code to import
    (`package.module:factory` is for the command line and the Python API). The name "panel"
    stands for the declared panel (`registry.PANEL`), so no spec copies its members."""
    where = "run.models"
    if value is None:
        return None
    if value == PANEL_NAME:
        value = [PANEL_NAME]
    if isinstance(value, list) and PANEL_NAME in value:
        at = value.index(PANEL_NAME)
        value = [*value[:at], *PANEL, *(m for m in value[at + 1:] if m not in PANEL)]
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise SpecError(path, where, f"must be \"panel\" or a list of model names (\"panel\" among "
                        f"them for the declared panel), got {value!r}")
    if not value:
        raise SpecError(path, where, "is empty; name at least one model, or omit it to run all")
    from spurbench.models import unavailable_models

    absent = unavailable_models()  # named, but their extra is not installed: the run leaves them out
    for name in value:
        if name in absent:
            continue
        if ":" in name:
            raise SpecError(path, where, f"{name!r}: a scenario file may name only registered "
                            "models; pass code references with --model on the command line")
        try:
            get_model(name)
        except SpurbenchError as exc:
            raise SpecError(path, where, str(exc)) from None
    return tuple(value)


def physical_memory() -> int:
    """Bytes of RAM on this machine (the memory budget of one fit is a share of it)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _check_memory(path: Path, scenario: Scenario) -> None:
    """Refuse a scenario whose largest fit would not fit in memory, before generating anything."""
    n_features = scenario.generator().sample(4, 0.0, np.random.default_rng(0)).X.shape[1]
    n_rows = max(scenario.n_train) + scenario.n_test
    need = n_rows * n_features * 8 * MEMORY_COPIES
    budget = MEMORY_SHARE * physical_memory()
    if need > budget:
        raise SpecError(path, "run.n_train", f"the largest fit ({n_rows} rows x {n_features} "
                        f"features) needs about {need / 2**30:.1f} GiB, more than the budget of "
                        f"{budget / 2**30:.1f} GiB ({MEMORY_SHARE:.0%} of this machine's memory); "
                        "use fewer rows or features")


def _check_sizes(path: Path, scenario: Scenario) -> None:
    """Refuse sizes the family cannot draw (a real table's group too small), before any work."""
    try:
        scenario.generator().check_sizes(max(scenario.n_train), scenario.n_test)
    except ParameterError as exc:
        raise SpecError(path, f"run.{exc.field}", exc.message) from None


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


class _Problems:
    """Runs each check of a scenario file on its own and keeps every SpecError it raises, so that
    one reading of a file reports all its problems."""

    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def check(self, check: Any, *args: Any, default: Any = None) -> Any:
        try:
            return check(*args)
        except SpecError as exc:
            self.errors.append(exc)
            return default


def _check_tables(path: Path, data: dict[str, Any], problems: _Problems) -> None:
    def table(name: str, value: Any) -> None:
        if name not in _TABLES:
            raise SpecError(path, name, f"unknown table; allowed: {', '.join(_TABLES)}")
        if not isinstance(value, dict):
            raise SpecError(path, name, "must be a table ([...])")

    def field_name(name: str, key: str) -> None:
        keys = _TABLES[name]
        if key not in keys:
            raise SpecError(path, f"{name}.{key}", f"unknown field; allowed: {', '.join(sorted(keys))}")

    for name, value in data.items():
        problems.check(table, name, value)
        if name in _TABLES and isinstance(value, dict) and _TABLES[name] is not None:
            for key in value:
                problems.check(field_name, name, key)


def _family(path: Path, head: dict[str, Any]) -> str:
    family = _string(path, _require(path, head, "family", "scenario"), "scenario.family")
    try:
        get_generator(family)
    except SpurbenchError as exc:
        raise SpecError(path, "scenario.family", str(exc)) from None
    return family


def parse_scenario(data: dict[str, Any], path: Path) -> Scenario:
    """Validate one parsed TOML document into a `Scenario`; every problem is reported at once
    (`SpecErrors`)."""
    problems = _Problems()
    _check_tables(path, data, problems)
    if "scenario" not in data or not isinstance(data["scenario"], dict):
        problems.errors.append(SpecError(path, "scenario", "the [scenario] table is required"))
        raise SpecErrors(problems.errors)
    head = data["scenario"]
    table = lambda name: data.get(name) if isinstance(data.get(name), dict) else {}  # noqa: E731
    run = table("run")
    name = problems.check(lambda: _name(path, _require(path, head, "name", "scenario")))
    family = problems.check(_family, path, head)
    params = table("params")
    if family is not None:
        params = get_generator(family).resolve_params(params, path.parent)
        problems.check(_check_params, path, family, params)
    fields = {
        "shift_levels": problems.check(lambda: _levels(path, _require(path, table("shift"), "levels",
                                                                       "shift"))),
        "n_train": problems.check(_sizes, path, run.get("n_train", [500])),
        "n_test": problems.check(_int, path, run.get("n_test", 2000), "run.n_test"),
        "seeds": problems.check(lambda: _int(path, run.get("seeds", 3), "run.seeds", maximum=MAX_SEEDS)),
        "models": problems.check(_models, path, run.get("models")),
        "experiment": problems.check(lambda: _string(path, head["experiment"], "scenario.experiment")
                                     if "experiment" in head else None),
        "headline": problems.check(_flag, path, head.get("headline", False), "scenario.headline",
                                   default=False),
        "spurious_controls": problems.check(_flag, path, run.get("spurious_controls", False),
                                            "run.spurious_controls", default=False),
    }
    fields["selection"] = problems.check(_selection, path, run.get("selection", False), fields["models"],
                                         default=False)
    if problems.errors:
        raise SpecErrors(problems.errors)
    scenario = Scenario(name=name, family=family, description=str(head.get("description", "")),
                        params=params, path=path, **fields)
    _check_memory(path, scenario)
    _check_sizes(path, scenario)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_SPEC_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(path, None, "no such file") from None
    except OSError as exc:  # a symlink loop, a directory, no permission
        raise SpecError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(path, None, f"larger than {MAX_SPEC_BYTES} bytes; not a scenario file")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SpecError(path, None, "not UTF-8 text; a scenario file is TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(path, None, f"malformed TOML ({exc})") from None
    except RecursionError:
        raise SpecError(path, None, "malformed TOML (nested too deeply)") from None
    return parse_scenario(data, path)


def scenario_paths(targets: Sequence[str | Path] = ()) -> list[Path]:
    """Files named by `targets` (files, folders or scenario names); all of `datasets/` if empty."""
    if not targets:
        targets = [DATASETS_DIR]
    paths: list[Path] = []
    for target in targets:
        p = Path(target)
        if p.is_dir():
            found = sorted(p.glob("*.toml"))
            if not found:
                raise SpecError(p, None, f"holds no scenario file (*.toml){_other_files(p)}")
            paths.extend(found)
        elif p.suffix == ".toml" or p.exists():
            paths.append(p)
        elif (DATASETS_DIR / f"{target}.toml").exists():
            paths.append(DATASETS_DIR / f"{target}.toml")
        else:
            close = difflib.get_close_matches(str(target), [f.stem for f in DATASETS_DIR.glob("*.toml")])
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise SpecError(p, None, f"no such scenario file or name in datasets/{hint}")
    return paths


def _other_files(folder: Path) -> str:
    """What a folder without scenario files holds instead, for its error message."""
    try:
        others = sorted(f.name for f in folder.iterdir() if f.is_file())
    except OSError as exc:
        return f"; cannot list it ({exc.strerror or exc})"
    if not others:
        return "; it is empty"
    more = f" and {len(others) - 3} more" if len(others) > 3 else ""
    return f"; it holds {', '.join(others[:3])}{more}, none named *.toml"


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
    _check_headline(scenarios)
    return scenarios


def _check_headline(scenarios: Sequence[Scenario]) -> None:
    """The headline suite: shifted scenarios that run the whole panel, at most
    `MAX_HEADLINE_PER_FAMILY` per family, so that no family outweighs the others by its count."""
    by_family: dict[str, list[Scenario]] = {}
    for s in scenarios:
        if not s.headline:
            continue
        if len(s.shift_levels) < 2:
            raise SpecError(s.path, "scenario.headline", "a headline scenario needs shift levels "
                            "beyond 0.0 (the headline compares degradation under shift)")
        if s.models is not None and not set(PANEL) <= set(s.models):
            raise SpecError(s.path, "scenario.headline", 'a headline scenario runs the whole panel: '
                            'omit run.models or name "panel" in it')
        by_family.setdefault(s.data_family, []).append(s)
    for family, members in by_family.items():
        if len(members) > MAX_HEADLINE_PER_FAMILY:
            names = ", ".join(str(m.path) for m in members)
            raise SpecError(members[-1].path, "scenario.headline",
                            f"family {family!r} has {len(members)} headline scenarios ({names}); "
                            f"at most {MAX_HEADLINE_PER_FAMILY} per family")


def headline_suite_markdown(scenarios: Sequence[Scenario]) -> str:
    """The declared headline suite as datasets/README.md lists it (a test keeps the two equal):
    one line per family, its headline scenarios in name order."""
    by_family: dict[str, list[str]] = {}
    for s in scenarios:
        if s.headline:
            by_family.setdefault(s.data_family, []).append(s.name)
    lines = [f"- `{family}`: " + ", ".join(f"`{name}`" for name in sorted(names))
             for family, names in sorted(by_family.items())]
    return "\n".join(lines)
