"""Built-in models, one module per kind; importing this package registers every module in it.

Private modules (``_name``) are helpers that the model modules import themselves. A module in
`OPTIONAL` needs an extra and is imported only when that extra's package is installed;
`missing_extras()` says how to get the models it would register.

Layer: may import `errors`, `registry`, `evaluation` (`scaling`) and `generators` (the oracles
read the data-generating process); never the harness, the report or the interface
(tests/test_layout.py).
"""

import importlib
import importlib.util
import pkgutil

# module -> (the package it needs, the models it registers, how to get them)
OPTIONAL = {"neural": ("torch", ("neural_flow", "neural_mlp"), "pip install 'spurbench[neural]'")}


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules[package] is None (import blocked)
        return False


def missing_extras() -> list[str]:
    """One line per optional model module left out because its package is not installed."""
    return [f"{', '.join(names)} ({package}): {hint}" for package, names, hint in OPTIONAL.values()
            if not _installed(package)]


def unavailable_models() -> frozenset[str]:
    """Names of the models that an installed extra would register: a spec may name them, and a
    run without the extra leaves them out instead of failing on an unknown name."""
    return frozenset(name for package, names, _ in OPTIONAL.values() if not _installed(package)
                     for name in names)


for _module in pkgutil.iter_modules(__path__):
    _needs = OPTIONAL.get(_module.name)
    if not _module.name.startswith("_") and (_needs is None or _installed(_needs[0])):
        importlib.import_module(f"{__name__}.{_module.name}")
