"""Generator families, one module per family; importing this package registers every module in it.

Adding a family touches one file: drop a module here that decorates its class with
`@register_generator("name")`.

Layer: may import `errors`, `registry` and `evaluation` (`scaling`); never `models` (a model may
know the data-generating process, never the reverse), the harness, the report or the interface
(tests/test_layout.py).
"""

import importlib
import pkgutil

from spurbench.generators.base import Generator, Sample

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Generator", "Sample"]
