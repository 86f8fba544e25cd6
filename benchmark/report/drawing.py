"""Drawing and saving the report's figures on worker processes while the report goes on.

A figure is independent of every other one (its rows travel with it), so each is drawn and saved
(PNG + PDF) by a loky worker while the parent computes tables, claims and the other documents;
the parent only waits, in order, for the outcome of each (saved, or the reason it was skipped).
A worker runs the same code under the same style file as a serial render, so the files are
byte-identical to it (`tests/test_paper_figures.py` checks every committed paper figure).

`SPURBENCH_REPORT_JOBS=1` (or a one-core machine) draws in this process, one figure at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import matplotlib.pyplot as plt

from benchmark.report import style
from benchmark.report.figures import NotEnoughData

JOBS_VARIABLE = "SPURBENCH_REPORT_JOBS"


def report_jobs() -> int:
    """Worker processes that draw figures: `SPURBENCH_REPORT_JOBS`, else every core."""
    value = os.environ.get(JOBS_VARIABLE, "")
    return int(value) if value.strip() else os.cpu_count() or 1


def draw_and_save(build: Callable[[], plt.Figure], out_dir: Path, name: str) -> str | None:
    """Build one figure under the report style and save it; the reason when it cannot be drawn."""
    try:
        with plt.style.context(style.STYLE):
            fig = build()
    except NotEnoughData as reason:
        return str(reason)
    style.save(fig, out_dir, name)
    return None


class Drawer:
    """Submits figures to a pool of worker processes (or draws them here with one job)."""

    def __init__(self, jobs: int | None = None):
        self.jobs = report_jobs() if jobs is None else jobs
        self._executor = None
        if self.jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            self._executor = get_reusable_executor(max_workers=self.jobs)

    def submit(self, build: Callable[[], plt.Figure], out_dir: Path, name: str) -> Future:
        """Start drawing `name` into `out_dir`; the future holds None or the skip reason."""
        if self._executor is not None:
            return self._executor.submit(draw_and_save, build, out_dir, name)
        done: Future = Future()
        done.set_result(draw_and_save(build, out_dir, name))
        return done
