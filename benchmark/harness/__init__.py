"""The harness: scenarios in, stored rows out.

`spec` loads and validates `datasets/*.toml` into `Scenario` objects; `grid` expands scenarios x
models x seeds x sizes into `FitTask`s, skips what the store holds (by `fitkey`) and runs the rest
through `execution` (in-process, our worker pool, or Dask); each worker runs `fitting` (draw from
`seeding`'s streams, fit, score with `evaluation`, the `oracles`' reference accuracies), and the
single writer commits every fit's rows to `store`.

Layer: may import `errors`, `registry`, `evaluation`, `generators` and `models`; never `report` or
`interface` (tests/test_layout.py). `run`, `expand_grid`, `resolve_models`, `models_for` and
`why_no_models` are `grid`'s, loaded on first use: a worker imports `spurbench.harness.fitting`
alone and never pays for the grid, the store's export or a progress bar.
"""

from importlib import import_module
from typing import Any

_GRID = ("run", "expand_grid", "resolve_models", "models_for", "why_no_models")
__all__ = list(_GRID)


def __getattr__(name: str) -> Any:
    if name in _GRID:
        return getattr(import_module("spurbench.harness.grid"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
