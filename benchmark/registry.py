"""Model and generator registries: plain dicts behind `register_*` / `get_*` functions.

Models come from three places, all ending up as a `ModelEntry` in one dict:
the `@register_model` decorator inside the repo, the `spurbench.models` entry-point group
(loaded once, on the first lookup; a broken plugin warns and is skipped), and
`package.module:factory` strings given on the command line.
"""

from __future__ import annotations

import difflib
import importlib
import itertools
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from spurbench.errors import SpurbenchError, UnknownNameError

PARADIGMS = ("generative", "discriminative", "oracle")
# The four model groups of every paradigm statistic (SCIENCE.md), and the group of each paradigm
# that a model which declares none joins.
GROUPS = ("parametric_generative", "flexible_generative", "linear_discriminative",
          "nonlinear_discriminative")
DEFAULT_GROUP = {"generative": "flexible_generative", "discriminative": "nonlinear_discriminative",
                 "oracle": "oracle"}
# The declared panel: the models every scenario runs unless its spec says why one cannot, and
# the only ones a paradigm or group average reads. Other built-ins are tagged `reference`.
PANEL = ("gaussian_nb", "nb_shared_var", "lda_shrinkage", "qda", "gmm_classifier",
         "kde_classifier", "logistic_regression", "logistic_regression_mle", "linear_svm",
         "random_forest", "hist_gradient_boosting", "mlp", "neural_flow", "neural_mlp")
KNOWN_TAGS = frozenset({"sample", "missing", "prior_shift", "binary", "reference", "groups", "opt_in"})
ENTRY_POINT_GROUP = "spurbench.models"

ModelFactory = Callable[..., Any]
# A search space as stored on an entry: ((parameter, (value, ...)), ...), sorted by parameter.
SearchSpace = tuple[tuple[str, tuple[Any, ...]], ...]
MAX_CONFIGURATIONS = 12  # per model: the search multiplies fits


@dataclass(frozen=True)
class ModelEntry:
    """What the harness needs to know about a model: how to build it and what it can do."""

    name: str
    paradigm: str
    factory: ModelFactory
    tags: frozenset[str] = field(default_factory=frozenset)
    description: str = ""
    group: str = ""
    search_space: SearchSpace = ()

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", DEFAULT_GROUP[self.paradigm])

    def configurations(self) -> list[tuple[tuple[str, Any], ...]]:
        """Every point of the search space as ((parameter, value), ...), in a fixed order; the
        empty configuration (the registered defaults, the `fixed` protocol) is not among them."""
        names = [name for name, _ in self.search_space]
        return [tuple(zip(names, values, strict=True))
                for values in itertools.product(*(v for _, v in self.search_space))]

    @property
    def reference(self) -> bool:
        """Kept out of paradigm and group averages (a variant shown for reference only)."""
        return "reference" in self.tags or self.paradigm == "oracle"

    @property
    def origin(self) -> str:
        """Where the factory comes from (`module:qualname`), for keys and messages."""
        target = self.factory.estimator if isinstance(self.factory, EstimatorFactory) else self.factory
        if not hasattr(target, "__qualname__"):  # an instance: name its class
            target = type(target)
        return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', '?')}"

    def build(self, random_state: int, config: Iterable[tuple[str, Any]] = ()) -> Any:
        """A fresh, unfitted estimator seeded with `random_state`, with `config`'s parameters set."""
        estimator = self.factory(random_state=random_state)
        config = dict(config)
        return estimator.set_params(**config) if config else estimator


class EstimatorFactory:
    """A factory made from an unfitted estimator: a `sklearn.base.clone` per fit, with every
    `random_state` parameter set to the fit's model seed (so seeds differ across fits and
    reruns repeat). A class, not a closure, so it pickles for any worker."""

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def __call__(self, random_state: int) -> Any:
        from sklearn.base import clone

        estimator = clone(self.estimator)
        seeded = {k: random_state for k in estimator.get_params(deep=True)
                  if k == "random_state" or k.endswith("__random_state")}
        return estimator.set_params(**seeded) if seeded else estimator

    def __repr__(self) -> str:
        return f"EstimatorFactory({type(self.estimator).__name__})"


def make_model(obj: Any, *, paradigm: str, name: str | None = None, tags: Iterable[str] = (),
               group: str | None = None, description: str | None = None,
               search_space: Mapping[str, Sequence[Any]] | None = None) -> ModelEntry:
    """A `ModelEntry` for an unfitted estimator or a factory, without registering it.

    Unregistered on purpose: the entry travels with each fit task, so no worker needs to find it
    by name, and re-running a notebook cell that defines it never clashes with an earlier entry.

    Parameters
    ----------
    obj : an unfitted scikit-learn estimator (cloned per fit) or a factory `f(random_state)`.
    paradigm : "generative", "discriminative" or "oracle".
    name : the model's name in the results; default: the factory's or estimator class's name.
    tags : capabilities, from ``KNOWN_TAGS``.
    group : one of ``GROUPS`` matching the paradigm (default: the paradigm's default group).
    description : one line; default: the first docstring line of the factory or estimator.
    search_space : estimator parameter -> the values model selection tries (see
        `register_model`).

    Returns
    -------
    ModelEntry
    """
    is_estimator = hasattr(obj, "fit") and hasattr(obj, "get_params") and not isinstance(obj, type)
    if not is_estimator and not callable(obj):
        raise SpurbenchError(f"model {name or obj!r}: expected an unfitted estimator or a factory "
                             f"f(random_state), got {type(obj).__name__}")
    name = name or (type(obj).__name__ if is_estimator else getattr(obj, "__name__", repr(obj)))
    _check_paradigm(name, paradigm)
    tags = _check_tags(name, tags)
    factory = EstimatorFactory(obj) if is_estimator else obj
    return ModelEntry(name, paradigm, factory, tags,
                      description or _first_line(type(obj) if is_estimator else obj),
                      _check_group(name, paradigm, group), _check_space(name, search_space))


_MODELS: dict[str, ModelEntry] = {}
_GENERATORS: dict[str, type] = {}
_plugins_loaded = False


def _first_line(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _check_paradigm(name: str, paradigm: str) -> None:
    if paradigm not in PARADIGMS:
        raise SpurbenchError(
            f"model {name!r}: paradigm {paradigm!r} is not allowed; use one of {', '.join(PARADIGMS)}"
        )


def _check_group(name: str, paradigm: str, group: str | None) -> str:
    """The model's group: declared (and consistent with its paradigm) or the paradigm's default."""
    if group is None:
        return DEFAULT_GROUP[paradigm]
    allowed = [g for g in GROUPS if g.endswith(paradigm)] or ["oracle"]
    if group not in allowed:
        raise SpurbenchError(f"model {name!r}: group {group!r} is not allowed for a {paradigm} "
                             f"model; use one of {', '.join(allowed)}")
    return group


def _check_space(name: str, space: Mapping[str, Sequence[Any]] | None) -> SearchSpace:
    """The search space in its stored form; refused when empty, duplicated or too large.

    Parameter names are checked against the estimator when a grid is planned (building an
    estimator at registration would run every factory at import)."""
    if not space:
        return ()
    if not isinstance(space, Mapping):
        raise SpurbenchError(f"model {name!r}: search_space must map parameter names to lists of "
                             f"values, got {type(space).__name__}")
    stored = []
    for param, values in sorted(space.items()):
        values = tuple(values) if isinstance(values, list | tuple) else None
        if not isinstance(param, str) or not values or len(set(map(repr, values))) != len(values):
            raise SpurbenchError(f"model {name!r}: search_space[{param!r}] must be a non-empty "
                                 "list of distinct values")
        stored.append((param, values))
    size = math.prod(len(v) for _, v in stored)
    if size > MAX_CONFIGURATIONS:
        raise SpurbenchError(f"model {name!r}: search_space has {size} configurations; at most "
                             f"{MAX_CONFIGURATIONS} are allowed (each is a fit per cell)")
    return tuple(stored)


def _check_tags(name: str, tags: Iterable[str]) -> frozenset[str]:
    tags = frozenset(tags)
    unknown = tags - KNOWN_TAGS
    if unknown:
        raise SpurbenchError(
            f"model {name!r}: unknown tags {sorted(unknown)}; known tags are {sorted(KNOWN_TAGS)}"
        )
    return tags


def register_model(
    name: str,
    *,
    paradigm: str,
    tags: Iterable[str] = (),
    group: str | None = None,
    description: str | None = None,
    search_space: Mapping[str, Sequence[Any]] | None = None,
) -> Callable[[ModelFactory], ModelFactory]:
    """Register a factory `f(random_state) -> classifier` under `name`.

    Parameters
    ----------
    name : the name used in specs, on the command line and in the results.
    paradigm : "generative", "discriminative" or "oracle" (reference predictors).
    tags : capabilities, from ``KNOWN_TAGS``; the harness and report read them.
    group : one of ``GROUPS`` matching the paradigm; default: the paradigm's flexible /
        non-linear group.
    description : one line for ``spurbench list models``; defaults to the factory's docstring.
    search_space : estimator parameter (as `set_params` spells it, e.g.
        ``"logisticregression__C"``) -> the values model selection tries, in scenarios with
        ``run.selection = true``; every combination is one more fit per cell (at most
        ``MAX_CONFIGURATIONS``). Models without one run with their defaults only.
    """
    _check_paradigm(name, paradigm)
    group = _check_group(name, paradigm, group)
    tags = _check_tags(name, tags)
    space = _check_space(name, search_space)

    def decorator(factory: ModelFactory) -> ModelFactory:
        if name in _MODELS and _MODELS[name].factory is not factory:
            raise SpurbenchError(f"model {name!r} is registered twice")
        _MODELS[name] = ModelEntry(
            name, paradigm, factory, tags, description or _first_line(factory), group, space
        )
        return factory

    return decorator


def _load_builtins() -> None:
    importlib.import_module("spurbench.models")
    importlib.import_module("spurbench.generators")


def _entry_from_object(name: str, obj: Any, paradigm: str | None = None) -> ModelEntry:
    """Build an entry from a plugin object that was not registered with the decorator."""
    paradigm = paradigm or getattr(obj, "paradigm", None)
    if paradigm not in PARADIGMS:  # the advice is what --paradigm accepts (oracles are built-in references)
        what = (f"{getattr(obj, '__qualname__', type(obj).__name__)} has no `paradigm` attribute"
                if paradigm is None else f"paradigm {paradigm!r} is not allowed")
        raise SpurbenchError(
            f"model {name!r}: {what}; set "
            "`paradigm = \"generative\"` or `\"discriminative\"` on it, or pass --paradigm "
            "generative|discriminative"
        )
    if not callable(obj):
        raise SpurbenchError(f"model {name!r}: {obj!r} is not a callable factory")
    tags = frozenset(getattr(obj, "tags", ()))
    group = _check_group(name, paradigm, getattr(obj, "group", None))
    return ModelEntry(name, paradigm, obj, tags, _first_line(obj), group,
                      _check_space(name, getattr(obj, "search_space", None)))


def _load_plugins() -> None:
    """Load the `spurbench.models` entry points once; a broken plugin is a warning, not a crash."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _MODELS:
            if _MODELS[ep.name].factory.__module__ != ep.value.partition(":")[0]:
                warnings.warn(f"spurbench plugin {ep.name!r} ({ep.value}) is skipped: the name "
                              "is already registered", stacklevel=2)
            continue
        try:
            obj = ep.load()
            if ep.name not in _MODELS:  # the module may have registered itself on import
                _MODELS[ep.name] = _entry_from_object(ep.name, obj)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a plugin's bug, even sys.exit at import, must not break the host
            warnings.warn(
                f"spurbench plugin {ep.name!r} ({ep.value}) failed to load and is skipped: {exc}",
                stacklevel=2,
            )


def reset_plugins() -> None:
    """Forget loaded plugins so the next lookup scans entry points again (tests, notebooks)."""
    global _plugins_loaded
    _plugins_loaded = False


def _unknown(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    return UnknownNameError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}")


def load_model_reference(ref: str, paradigm: str | None = None) -> ModelEntry:
    """Register and return the model named by a `package.module:factory` string."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr or module_name.startswith("."):
        raise SpurbenchError(f"--model {ref!r}: expected 'package.module:factory' (an absolute "
                             "module name)")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise SpurbenchError(f"--model {ref!r}: cannot import it ({exc})") from None
    entry = _entry_from_object(ref, obj, paradigm)
    _MODELS[ref] = entry
    return entry


def get_model(name: str) -> ModelEntry:
    """The registry entry for `name`; an unknown name lists the close matches and all names."""
    _load_builtins()
    if name not in _MODELS:
        _load_plugins()
    if name not in _MODELS and ":" in name:
        return load_model_reference(name)
    if name not in _MODELS:
        raise _unknown("model", name, _MODELS)
    return _MODELS[name]


def list_models() -> list[ModelEntry]:
    """Every registered model (built-ins and plugins), sorted by paradigm then name."""
    _load_builtins()
    _load_plugins()
    order = {p: i for i, p in enumerate(PARADIGMS)}
    return sorted(_MODELS.values(), key=lambda e: (order[e.paradigm], e.name))


def register_generator(name: str) -> Callable[[type], type]:
    """Register a generator family class under `name` (its docstring's first line describes it)."""

    def decorator(cls: type) -> type:
        if name in _GENERATORS and _GENERATORS[name] is not cls:
            raise SpurbenchError(f"generator {name!r} is registered twice")
        cls.family = name
        _GENERATORS[name] = cls
        return cls

    return decorator


def get_generator(name: str) -> type:
    """The generator family class registered under `name`."""
    _load_builtins()
    if name not in _GENERATORS:
        raise _unknown("generator family", name, _GENERATORS)
    return _GENERATORS[name]


def list_generators() -> dict[str, str]:
    """Family name -> one-line description."""
    _load_builtins()
    return {name: _first_line(cls) for name, cls in sorted(_GENERATORS.items())}
