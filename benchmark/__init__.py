"""spurbench: how generative and discriminative classifiers degrade under distribution shift.

The data flow is one way: spec -> generator -> harness -> store -> report, and the packages are
its layers, lowest first: `errors` and `registry` (here), `evaluation`, `generators`, `models`,
`harness`, `report`, `interface` (benchmark/README.md; tests/test_layout.py checks it). The public API
(`run`, `model`, `load`, `scenarios`, `draw`, `compare`, `evaluate`, `check_model`, `report`,
`leaderboard`, `register_model`) is
loaded on first use, so importing the package (as every worker does) stays cheap; users import it
as `spurbench`.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("spurbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

_API = {**dict.fromkeys(("run", "model", "load", "scenarios", "draw", "compare", "evaluate", "check_model"),
                       "spurbench.interface.api"),
        "register_model": "spurbench.registry"}
# Names of the API that are also submodules: the (callable) submodule itself, so that importing it
# elsewhere never changes what `spurbench.report` / `spurbench.leaderboard` is.
_CALLABLE_MODULES = {"report": "spurbench.report", "leaderboard": "spurbench.report.leaderboard"}
__all__ = [*_API, *_CALLABLE_MODULES, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    if name in _CALLABLE_MODULES:
        return import_module(_CALLABLE_MODULES[name])
    raise AttributeError(f"module 'spurbench' has no attribute {name!r}")
