"""The report stage: a run directory's stored rows -> figures, tables, analysis and `report.md`.

Reads only what the store wrote (never the harness); `write_report` is the entry point the CLI's
`spurbench report RUN` and `make figures` call. It is loaded on first use, so that importing a
light submodule (`prepare`, which the leaderboard reads) loads no plotting.
"""

import sys
import types
from pathlib import Path
from typing import Any

__all__ = ["write_report"]


def __getattr__(name: str) -> Any:
    if name == "write_report":
        from spurbench.report.render import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """`spurbench.report(run_dir)` is the API's `report`, and `spurbench.report.render` etc. stay
    the submodules: the package itself is callable (one name, no shadowing either way)."""

    def __call__(self, run_dir: str | Path, pdf: bool = False) -> Path:
        from spurbench.api import report

        return report(run_dir, pdf=pdf)


sys.modules[__name__].__class__ = _CallablePackage
