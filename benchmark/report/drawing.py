"""Drawing and saving the report's figures on worker processes while the report goes on.

A figure is independent of every other one (its rows travel with it), so each is drawn and saved
(PNG, and PDF when asked for) by a loky worker while the parent computes tables, claims and the
other documents; the parent only waits, in order, for the outcome of each (saved, or the reason
it was skipped). A worker runs the same code under the same style file as a serial render, so the files are
byte-identical to it (`tests/test_paper_figures.py` checks every committed paper output).

A figure is not drawn again when nothing it is drawn from has changed: its key hashes the
pickled figure builder with its rows (`cloudpickle`), the package's source and style file and the
dependency versions; the keys of the figures in `<run>/figures` are kept in `<run>/.report-cache`.
A key that cannot be computed, or differs, means drawing again (never a stale figure).

Workers are forked from the report's process where that is safe (Linux, and no other thread
running, as in `spurbench report` and at the end of `spurbench run`, whose progress bar stops its
thread): a fork starts with the plotting libraries already imported, where a fresh worker spends
about two seconds importing them. Elsewhere (another system, or a thread left running, such as
the offload thread a Dask client leaves behind) they are loky's reusable workers.
`SPURBENCH_REPORT_JOBS=1` (or a one-core machine) draws in this process, one figure at a time.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import io
import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from pathlib import Path

import cloudpickle
import matplotlib.pyplot as plt
from spurbench.harness.fitkey import dependency_versions
from spurbench.report import style
from spurbench.report.figures import NotEnoughData
from spurbench.report.reproducible import single_threaded, writer_versions

JOBS_VARIABLE = "SPURBENCH_REPORT_JOBS"
CACHE_DIR = ".report-cache"
PACKAGE_DIR = Path(__file__).resolve().parent.parent


@functools.cache
def code_hash() -> str:
    """SHA-256 over the package's source and style file and the dependency versions, with the
    libraries that write the files (once per process): any edit or upgrade draws every figure
    again."""
    versions = dependency_versions() | writer_versions()
    digest = hashlib.sha256(json.dumps(versions, sort_keys=True).encode())
    for path in sorted([*PACKAGE_DIR.rglob("*.py"), *PACKAGE_DIR.rglob("*.mplstyle")]):
        if "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _pickled(build: Callable[[], plt.Figure]) -> bytes | None:
    """The builder as it travels to a worker; None when it cannot be pickled."""
    try:
        return cloudpickle.dumps(build)
    except Exception:  # an unpicklable builder is drawn here, every time
        return None


def figure_key(build: Callable[[], plt.Figure] | bytes | None, name: str) -> str | None:
    """What the figure `name` is drawn from (its builder, or the builder pickled), hashed; None
    when the builder cannot be pickled."""
    pickled = build if isinstance(build, bytes | None) else _pickled(build)
    if pickled is None:
        return None
    return hashlib.sha256(code_hash().encode() + name.encode() + pickled).hexdigest()


def _key_path(out_dir: Path, name: str) -> Path:
    return out_dir.parent / CACHE_DIR / f"{name}.key"


def is_current(out_dir: Path, name: str, key: str | None,
               formats: tuple[str, ...] = style.PAPER_FORMATS) -> bool:
    """Whether `name`'s files in `out_dir` (one per format) were drawn from what `key` hashes."""
    path = _key_path(out_dir, name)
    return key is not None and path.exists() and path.read_text() == key and all(
        (out_dir / f"{name}.{ext}").exists() for ext in formats)


def report_jobs() -> int:
    """Worker processes that draw figures: `SPURBENCH_REPORT_JOBS`, else every core."""
    value = os.environ.get(JOBS_VARIABLE, "")
    return int(value) if value.strip() else os.cpu_count() or 1


def draw_and_save(build: Callable[[], plt.Figure], out_dir: Path, name: str, key: str | None = None,
                  formats: tuple[str, ...] = style.PAPER_FORMATS) -> str | None:
    """Build one figure under the report style and save it in `formats` (and its `key`, once
    every file is written; files of other formats, drawn from something else, go); the reason
    when it cannot be drawn."""
    _key_path(out_dir, name).unlink(missing_ok=True)
    for ext in set(style.FORMATS) - set(formats):
        (out_dir / f"{name}.{ext}").unlink(missing_ok=True)
    try:
        with single_threaded(), plt.style.context(style.STYLE):
            fig = build()
    except NotEnoughData as reason:
        return str(reason)
    style.save(fig, out_dir, name, formats)
    if key is not None:
        _key_path(out_dir, name).parent.mkdir(parents=True, exist_ok=True)
        _key_path(out_dir, name).write_text(key)
    return None


def _draw_pickled(pickled: bytes, out_dir: Path, name: str, key: str | None,
                  formats: tuple[str, ...]) -> str | None:
    """`draw_and_save` in a worker, from the builder's pickle (the same bytes its key hashes)."""
    return draw_and_save(cloudpickle.loads(pickled), out_dir, name, key, formats)


def _can_fork() -> bool:
    """Whether forking this process is safe: Linux, and no other thread that a fork could catch
    holding a lock."""
    return sys.platform == "linux" and threading.active_count() == 1


def _warm_up() -> None:
    """Load here, once, what each forked worker would otherwise load for its first figure: fonts
    and the PNG writer (a small figure drawn). Not the model registry: the report reads which
    models train with group labels from the run's record (`prepare.with_recorded_tags`)."""
    with plt.style.context(style.STYLE):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1], marker="o", label="warm-up")
        ax.set_title("warm-up")
        fig.legend()
        fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        plt.close(fig)


class Drawer:
    """Submits figures to a pool of worker processes (or draws them here with one job), each
    saved in `formats`. A context manager: leaving it waits for the forked workers and stops
    them (loky's reusable workers stay for the next report)."""

    def __init__(self, jobs: int | None = None, formats: tuple[str, ...] = style.REPORT_FORMATS):
        self.jobs = report_jobs() if jobs is None else jobs
        self.formats = formats
        self._executor: Executor | None = None
        self._owned = False
        self._submitted: dict[tuple[Path, str], tuple[str | None, Future]] = {}
        if self.jobs > 1 and _can_fork():
            _warm_up()
            # Everything loaded so far lives as long as the process: frozen, the garbage collector
            # stops walking it (its passes took a tenth of the report's CPU time) and the forked
            # workers share its pages instead of copying them as the collector touches them.
            gc.freeze()
            self._executor = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"))
            self._owned = True
        elif self.jobs > 1:
            from joblib.externals.loky import get_reusable_executor

            self._executor = get_reusable_executor(max_workers=self.jobs)

    def __enter__(self) -> Drawer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._executor.shutdown(wait=True, cancel_futures=exc[0] is not None)
            gc.unfreeze()

    def submit(self, build: Callable[[], plt.Figure], out_dir: Path, name: str) -> Future:
        """Start drawing `name` into `out_dir` unless its files are current; the future holds
        None (saved) or the reason it was skipped.

        Submitting a figure again from the same builder (same key) returns the first future; from
        another builder, the first drawing is cancelled if it has not started (its future is then
        cancelled), or waited for (never two drawings of one file at once), and it is drawn again.
        """
        pickled = _pickled(build)
        key = figure_key(pickled, name)
        earlier = self._submitted.get((out_dir, name))
        if earlier is not None and key is not None and earlier[0] == key:
            return earlier[1]
        if earlier is not None and not earlier[1].cancel():
            earlier[1].result()
        future = self._start(build, pickled, key, out_dir, name)
        self._submitted[(out_dir, name)] = (key, future)
        return future

    def _start(self, build: Callable[[], plt.Figure], pickled: bytes | None, key: str | None,
               out_dir: Path, name: str) -> Future:
        current = is_current(out_dir, name, key, self.formats)
        if self._executor is not None and pickled is not None and not current:
            return self._executor.submit(_draw_pickled, pickled, out_dir, name, key, self.formats)
        done: Future = Future()
        done.set_result(None if current else draw_and_save(build, out_dir, name, key, self.formats))
        return done
