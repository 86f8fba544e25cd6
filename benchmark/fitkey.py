"""The fit key: a content hash of everything that can change a fit's numbers (resume skips on it).

The key is canonical JSON (sorted keys) of the estimator's `get_params(deep=True)`, the
scenario's resolved generator parameters (declared defaults included, so changing a family's
default recomputes), the seed, n_train, the run seed, the versions of spurbench's dependencies
and a hash of spurbench's own source (the modules that compute numbers). It never reads
`repr(estimator)`: that text changes with `sklearn.set_config(print_changed_only=...)` while the
numbers do not.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import inspect
import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.registry import get_generator

PACKAGE_DIR = Path(__file__).resolve().parent
# Never change a fit's numbers (see `source_hash`): they read stored rows or talk to the user
# (the report stage, the command line, ...), or plan, run and store fits whose numbers are made
# entirely by fitting.py and what it calls (the grid, the worker pools, the store, the selection
# protocols, which are rebuilt from the stored fits after every run), or measure speed.
PRESENTATION = frozenset({"report", "cli.py", "__main__.py", "api.py", "leaderboard.py",
                          "check.py", "inspection.py", "harness.py", "execution.py", "store.py",
                          "selection.py", "perf.py", "perf_neural.py"})
# Dependencies whose versions enter the key when spurbench's own metadata is unavailable
# (a source tree that was never installed).
FALLBACK_DEPENDENCIES = ("numpy", "pandas", "scikit-learn", "scipy", "statsmodels", "joblib")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def normalise(value: Any) -> Any:
    """A JSON-able, process-independent form of a parameter value.

    Estimators become their class path and (normalised) parameters, numpy scalars and arrays
    become Python numbers and lists, callables their qualified name; anything else is its type
    name and repr with memory addresses removed, which is stable across processes.
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [normalise(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if hasattr(value, "get_params") and not isinstance(value, type):
        return estimator_params(value)
    if isinstance(value, type) or callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__name__)}"
    return f"{type(value).__qualname__}:{_ADDRESS.sub('', repr(value))}"


def estimator_params(estimator: Any) -> dict[str, Any]:
    """Class path and normalised `get_params(deep=True)` of an estimator."""
    cls = type(estimator)
    return {"class": f"{cls.__module__}.{cls.__qualname__}",
            "params": normalise(estimator.get_params(deep=True))}


def resolved_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """The generator's keyword arguments with its signature's defaults filled in."""
    signature = inspect.signature(get_generator(family).__init__)
    defaults = {name: p.default for name, p in signature.parameters.items()
                if p.default is not inspect.Parameter.empty}
    return normalise({**defaults, **params})


@functools.cache
def dependency_versions() -> dict[str, str]:
    """Installed versions of spurbench's declared dependencies (cached once per process)."""
    try:
        requirements = metadata.requires("spurbench") or []
        names = [re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0] for r in requirements if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        names = list(FALLBACK_DEPENDENCIES)
    versions = {}
    for name in sorted(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _computes_numbers(relative: Path) -> bool:
    """Whether a source file can change a fit's numbers: everything but `PRESENTATION` (so an
    edit to the report, the store or the pool keeps `--resume` useful)."""
    return relative.parts[0] not in PRESENTATION and relative.suffix == ".py" \
        and "__pycache__" not in relative.parts


@functools.cache
def source_hash() -> str:
    """SHA-256 over the sources that compute a fit's numbers (cached once per process): editing
    them invalidates stored fits, so resume never mixes two versions' numbers."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if _computes_numbers(path.relative_to(PACKAGE_DIR)):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fit_key(model: dict[str, Any], scenario: dict[str, Any], seed: int, n_train: int,
            run_seed: int) -> str:
    """Hex SHA-256 of the canonical JSON of one fit's content (see the module docstring)."""
    content = {"model": model, "scenario": scenario, "seed": int(seed), "n_train": int(n_train),
               "run_seed": int(run_seed), "dependencies": dependency_versions(),
               "source": source_hash()}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]
