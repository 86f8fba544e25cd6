"""The report stage: a run directory's stored rows -> figures, tables, analysis and `report.md`.

Reads only what the store wrote (never the harness); `write_report` is the entry point the CLI's
`spurbench report RUN` and `make figures` call.
"""

from spurbench.report.render import write_report

__all__ = ["write_report"]
