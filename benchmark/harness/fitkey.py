"""The fit key: a content hash of what computes a fit's numbers (resume skips on it).

The key is canonical JSON (sorted keys) of the estimator's `get_params(deep=True)` and where it
comes from, the scenario's resolved generator parameters (declared defaults included, so changing
a family's default recomputes), the seed, n_train, the run seed, and the fit's code:

- **source**: one hash over the modules that compute this fit, by module name and text: the
  model's own module and the modules of its estimator classes, the generator family's module,
  and the numeric core (`CORE`: fitting.py and what it imports), each with the package modules it
  imports, transitively (read with `ast`, imports inside functions included). The walk stops at
  `BOOKKEEPING` modules (the registry, the store, the spec parser, the command line, the
  report...): they plan, name and store fits, and anything of theirs that reaches a number is
  already in the key as a value (the estimator's parameters, which hold the seed the registry's
  factory sets; the resolved parameters and content hash the spec makes). So editing one model
  or family recomputes only its own fits, and editing the report, the store or the CLI nothing.
  A model from outside the package (a `pkg.mod:factory` reference, a script, a notebook) adds its
  module's source when it can be read, else its qualified name.
- **versions**: the versions of the packages in `NUMERIC_PACKAGES` that those modules import
  (torch only for the neural pair, pgmpy only for what imports it); an upgrade of a plotting or
  storage library (matplotlib, seaborn, pyarrow, tqdm) or of joblib recomputes nothing.

The key is relocatable: a module's source enters as its syntax tree, less its docstrings (and
so less comments and layout), with imports of spurbench's own modules reduced to the names they
bind, and the modules are hashed as a set of contents, never by name; in the estimator's content
a spurbench class is named by its qualified name only. So moving a module to another package,
renaming it, or editing its prose recomputes nothing, while any change to code does. (A module
that switches an import between two modules that both sit in the fit's closure and bind the same
name would keep its key: the one edit the key cannot see.)

Package `__init__` files enter only when imported by name (they register modules; importing a
model's module does not make it depend on every other model). The key never reads
`repr(estimator)`: that text changes with `sklearn.set_config(print_changed_only=...)` while the
numbers do not. Module hashes are cached per process; paths never enter, so the key is the same
on any machine and checkout.
"""

from __future__ import annotations

import ast
import enum
import functools
import hashlib
import inspect
import json
import re
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from spurbench.registry import get_generator

PACKAGE = "spurbench"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the `benchmark/` folder
# Where every fit's numbers are made, whatever the model and family: harness/fitting.py and what
# it imports (harness/oracles.py and seeding.py, generators/base.py, the evaluation modules it
# scores with): drawing, fitting, scoring.
CORE = ("spurbench.harness.fitting",)
# Modules (and packages, with everything under them) the import walk never enters: they plan,
# name, store or present fits (see the module docstring for why their effect is in the key).
# Named one by one inside `harness` (its `fitting`, `oracles` and `seeding` compute numbers).
BOOKKEEPING = frozenset({
    "spurbench.registry", "spurbench.errors", "spurbench.__main__",
    "spurbench.harness.grid", "spurbench.harness.execution", "spurbench.harness.store",
    "spurbench.harness.spec", "spurbench.harness.fitkey", "spurbench.evaluation.selection",
    "spurbench.report", "spurbench.interface",
})
# Third-party packages that compute numbers (import name -> distribution): a fit's key holds the
# version of each one its modules import. Not pandas: in the fitting code only metrics.py imports
# it, for the frame-level functions the report calls; no fit's number passes through it.
NUMERIC_PACKAGES = {"numpy": "numpy", "scipy": "scipy", "sklearn": "scikit-learn",
                    "statsmodels": "statsmodels", "torch": "torch", "pgmpy": "pgmpy"}
# Dependencies whose versions `dependency_versions` reports when spurbench's own metadata is
# unavailable (a source tree that was never installed).
FALLBACK_DEPENDENCIES = ("numpy", "pandas", "scikit-learn", "scipy", "statsmodels", "joblib")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


class FitCode(NamedTuple):
    """What computes a fit: a hash of the modules' sources and the numeric packages' versions."""

    source: str
    versions: dict[str, str]


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
    """Class path, module and normalised `get_params(deep=True)` of an estimator (the module is
    where `fit_code` starts reading source)."""
    cls = type(estimator)
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "module": cls.__module__,
            "params": normalise(estimator.get_params(deep=True))}


def resolved_params(family: str, params: dict[str, Any]) -> dict[str, Any]:
    """The generator's keyword arguments with its signature's defaults filled in."""
    signature = inspect.signature(get_generator(family).__init__)
    defaults = {name: p.default for name, p in signature.parameters.items()
                if p.default is not inspect.Parameter.empty}
    return normalise({**defaults, **params})


@functools.cache
def dependency_versions() -> dict[str, str]:
    """Installed versions of all of spurbench's declared dependencies (cached once per process).

    Not part of the fit key (see `package_version`): the report's figure cache keys on it, since
    a plotting library's upgrade redraws figures."""
    try:
        requirements = metadata.requires("spurbench") or []
        names = [re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0] for r in requirements if "extra ==" not in r]
    except metadata.PackageNotFoundError:
        names = list(FALLBACK_DEPENDENCIES)
    return {name: package_version(name) for name in sorted(names)}


@functools.cache
def package_version(distribution: str) -> str:
    """The installed version of `distribution`, or "absent" (cached once per process)."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "absent"


def _bookkeeping(module: str) -> bool:
    """Whether the walk stops at `module`: the package's `__init__` (the public API's lazy
    imports) or a `BOOKKEEPING` module or package."""
    return module == PACKAGE or any(module == b or module.startswith(f"{b}.") for b in BOOKKEEPING)


def _module_file(module: str) -> Path | None:
    """The source file of `module` (of spurbench, or of an imported package), without importing."""
    top, _, rest = module.partition(".")
    paths = [str(PACKAGE_DIR)] if top == PACKAGE else list(getattr(sys.modules.get(top), "__path__", []))
    if not paths:  # a single-file module (a script, a test file): only once it is imported
        file = getattr(sys.modules.get(module), "__file__", None)
        return Path(file) if file and file.endswith(".py") else None
    target = Path(paths[0]).joinpath(*rest.split(".")) if rest else Path(paths[0])
    candidates = (target.with_suffix(".py"), target / "__init__.py") if rest else (target / "__init__.py",)
    return next((c for c in candidates if c.is_file()), None)


@functools.cache
def _module_source(module: str) -> bytes | None:
    """`module`'s source (newlines normalised, so a Windows checkout hashes the same), or None
    when it cannot be found."""
    path = _module_file(module)
    if path is not None:
        return path.read_bytes().replace(b"\r\n", b"\n")
    loaded = sys.modules.get(module)
    try:
        return inspect.getsource(loaded).encode() if loaded is not None else None
    except (OSError, TypeError):  # a notebook or interactive module: no source to read
        return None


def _imported(module: str, source: bytes) -> set[str]:
    """Absolute names of everything `source` imports (relative imports resolved; for `from a
    import b`, the submodule `a.b` when it is one, else `a`)."""
    package = module if (_module_file(module) or Path()).name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                own = base.partition(".")[0] in {PACKAGE, module.partition(".")[0]}
                names.add(sub if own and _module_file(sub) else base)
    return names


def canonical_source(source: bytes, own: frozenset[str] = frozenset({PACKAGE})) -> bytes:
    """What of `source` can change a number: its syntax tree without docstrings (so without
    comments and layout either), with imports from the packages in `own` reduced to the names
    they bind (where those modules live is not code; their contents enter the key themselves)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                node.body = node.body[1:] or [ast.Pass()]
        elif isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").partition(".")[0] in own):
            node.module, node.level = None, 0
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.partition(".")[0] in own:
                    alias.name = alias.asname or alias.name.partition(".")[0]
    return ast.dump(tree, include_attributes=False).encode()


@functools.cache
def _node(module: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """One module of the walk: the hash of its canonical source (its name when the source cannot
    be read), the modules of its own package it imports, and the numeric packages it imports."""
    source = _module_source(module)
    if source is None:
        return f"unreadable:{module}", frozenset(), frozenset()
    top = module.partition(".")[0]
    imports = _imported(module, source)
    follow = {m for m in imports if m.partition(".")[0] in {top, PACKAGE} and not _bookkeeping(m)
              and _module_source(m) is not None}
    numeric = {NUMERIC_PACKAGES[m.partition(".")[0]] for m in imports
               if m.partition(".")[0] in NUMERIC_PACKAGES}
    canonical = canonical_source(source, frozenset({top, PACKAGE}))
    return hashlib.sha256(canonical).hexdigest(), frozenset(follow), frozenset(numeric)


@functools.cache
def closure(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """The modules `module` runs (itself and its package imports, transitively) and the numeric
    distributions they import. A module of a numeric package is its distribution only."""
    top = module.partition(".")[0]
    if top in NUMERIC_PACKAGES:
        return frozenset(), frozenset({NUMERIC_PACKAGES[top]})
    seen, numeric, todo = set(), set(), [module]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        _, follow, imports = _node(current)
        numeric |= imports
        todo.extend(follow - seen)
    return frozenset(seen), frozenset(numeric)


def fit_code(model: dict[str, Any], family: str) -> FitCode:
    """The source hash and numeric versions of a fit of `model` (its key content, see
    `model_modules`) on data of generator `family` (see the module docstring)."""
    roots = {*CORE, *(m for m in model_modules(model) if not _bookkeeping(m)),
             get_generator(family).__module__}
    source, numeric = _code(frozenset(roots))
    return FitCode(source, {d: package_version(d) for d in numeric})


@functools.cache
def _code(roots: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """The source hash of the union of the roots' closures, and their numeric distributions."""
    files, numeric = set(), set()
    for root in roots:
        more_files, more_numeric = closure(root)
        files |= more_files
        numeric |= more_numeric
    digest = hashlib.sha256()
    for content in sorted(_node(module)[0] for module in files):  # contents, not names: relocatable
        digest.update(f"{content}\n".encode())
    return digest.hexdigest()[:16], tuple(sorted(numeric))


def model_modules(model: dict[str, Any]) -> set[str]:
    """The modules named in a model's key content: its factory's `origin` (`module:qualname`)
    and the module of every estimator class in it, nested estimators included."""
    found = {model["origin"].partition(":")[0]} if isinstance(model.get("origin"), str) else set()
    todo: list[Any] = [model]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            if isinstance(value.get("class"), str) and isinstance(value.get("module"), str):
                found.add(value["module"])
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
    return found


def fit_key(model: dict[str, Any], scenario: dict[str, Any], seed: int, n_train: int,
            run_seed: int, code: FitCode | None = None) -> str:
    """Hex SHA-256 of the canonical JSON of one fit's content (see the module docstring);
    `code` is `fit_code(model, scenario["family"])`, computed when not given."""
    code = code or fit_code(model, scenario["family"])
    content = {"model": _relocatable(model), "scenario": scenario, "seed": int(seed), "n_train": int(n_train),
               "run_seed": int(run_seed), "versions": code.versions, "source": code.source}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def _relocatable(value: Any) -> Any:
    """`value` (a model's key content) with spurbench's classes and factories named by their
    qualified names, not their modules: where the code lives is not in the key (the source is)."""
    if isinstance(value, list):
        return [_relocatable(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _relocatable(v) for k, v in value.items()}
    module = value.get("module")
    if (isinstance(module, str) and module.partition(".")[0] == PACKAGE
            and isinstance(value.get("class"), str)):
        out["class"] = f"{PACKAGE}:{value['class'].removeprefix(f'{module}.')}"
        del out["module"]
    origin = value.get("origin")
    if isinstance(origin, str) and origin.partition(".")[0].partition(":")[0] == PACKAGE:
        out["origin"] = f"{PACKAGE}:{origin.partition(':')[2]}"
    return out
