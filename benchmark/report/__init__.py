"""The report stage: a run directory's stored rows -> figures, tables, analysis and `report.md`.

Reads only what the store wrote; `write_report` is the entry point the CLI's `spurbench report RUN`
and `make figures` call. It is loaded on first use, so that importing a light submodule (`prepare`,
which the leaderboard reads) loads no plotting. `leaderboard` (the per-model table that report.md
and report.html embed, and `spurbench.leaderboard`) lives here too, beside the `panel` rule it reads.

Layer: may import `errors`, `registry`, `evaluation`, and of the harness only its read side
(`harness.store`, `harness.fitkey`'s versions): never the code that runs fits (`harness.grid`,
`harness.fitting`, `harness.execution`), never `models`, `generators` or `interface`
(tests/test_layout.py). The report stands on stored rows alone.
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
        from spurbench.report.render import write_report

        return write_report(Path(run_dir), pdf=pdf)


sys.modules[__name__].__class__ = _CallablePackage
