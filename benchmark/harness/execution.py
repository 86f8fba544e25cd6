"""Where fits run: in this process, on a pool of worker processes of our own, or on Dask.

A fit is allowed to misbehave, and the run must survive it. A worker that dies (the OOM killer,
`os._exit`) costs one fit, stored as error rows, not the run; a fit stuck in C code that holds
the GIL is stopped from outside by killing its process; a signal to the parent takes the workers
down with it. joblib's generators abort the whole run on a dead worker and cannot say which fit
killed it, hence a small pool of our own: long-lived processes (no spawn per fit) that each
receive one task at a time over a pipe, so the parent always knows which fit a dead or late
worker was running and replaces just that worker. Small grids without a time limit run in this
process: starting workers would cost more than the fits.

On Dask every task costs the scheduler (which runs in the parent on a LocalCluster) a few
milliseconds: with one task per small fit that, not the fits, sets the pace. So without a time
limit a Dask task runs a batch of fits, sized from the fits' own measured seconds (see
`_batch_size`); with one, each fit is its own task so a late one can be stopped alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import math
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle
from spurbench.errors import Interrupted, SpurbenchError
from spurbench.harness.fitting import FitResult, FitTask, failed_fit, run_fit

IN_PROCESS_MAX = 50  # pending fits below which, with automatic --jobs and no --timeout, no pool starts
# A Dask batch's target duration. The parent spends ~8 ms per Dask task (one task per 8 ms fit
# ran 120 fits/s on two workers), under 3% of 0.3 s; longer batches gain little and leave
# threads idle longer at the end of the grid.
BATCH_SECONDS = 0.3
BATCH_MAX = 64  # fits in one Dask batch, at most: what a failed batch reruns one by one
BATCHES_PER_THREAD = 4  # Dask batches in flight per worker thread (no time limit): none waits idle
DASK_LOG_LENGTH = 10  # messages (and transitions, events) Dask keeps per connection; see dask_client
GRACE_SECONDS = 1.0  # the worker's own alarm fires first; the parent kills only fits deaf to it
_PR_SET_PDEATHSIG = 1


def _timeout_message(timeout: float) -> str:
    return f"fit exceeded the {timeout:g} s timeout (stopped from outside the fit)"


def _remote_fit(task: FitTask) -> FitResult:
    """What our worker runs: the fit; the task carries its model's entry."""
    return run_fit(task)


def _remote_batch(tasks: list[FitTask]) -> list[FitResult]:
    """What a Dask task runs: its batch's fits, in order (each draws from its own seeds)."""
    return [run_fit(task) for task in tasks]


def _batch_size(seconds_per_fit: float | None, remaining: int, threads: int) -> int:
    """Fits in the next Dask batch, as joblib's `batch_size="auto"` sizes them: one until a fit's
    time is measured, then as many as take about BATCH_SECONDS, at most BATCH_MAX, and at most
    the remaining fits over twice the threads, so the tail still keeps every thread busy."""
    if seconds_per_fit is None:
        return 1
    fill = int(BATCH_SECONDS / max(seconds_per_fit, 1e-6))
    return max(1, min(fill, BATCH_MAX, remaining // (2 * threads)))


def _seconds_per_fit(previous: float | None, results: list[FitResult]) -> float:
    """A fit's seconds, as a moving average updated by each returned batch (its mean fit)."""
    mean = sum(r.seconds for r in results) / len(results)
    return mean if previous is None else 0.7 * previous + 0.3 * mean


def _exit_with_parent(run_pid: int) -> None:
    """A worker must not outlive the run. On Linux the kernel kills it when its parent process
    (the fork server, itself bound to the run) dies, even mid-fit in C code; a thread watching
    the run's pid covers other systems."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            try:
                os.kill(run_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker(conn: Connection, run_pid: int, sys_path: list[str]) -> None:
    """A worker's loop: receive a task (it carries its model), send back the result, until the
    pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    sys.path[:] = sys_path  # models importable in the parent are importable here
    _exit_with_parent(run_pid)
    try:
        conn.send_bytes(b"ready")
        while True:
            task = cloudpickle.loads(conn.recv_bytes())
            conn.send_bytes(pickle.dumps(_remote_fit(task)))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the run closed its end (it finished, or was interrupted): nothing left to say


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Start a worker without multiprocessing re-importing the caller's script in it: a script
    that calls `spurbench.run` without an `if __name__ == "__main__"` guard would run again in
    every worker. Workers need nothing from it (models defined there travel by value)."""
    main = sys.modules["__main__"]
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        for key in ("__file__", "__spec__"):
            main.__dict__.pop(key, None)
        main.__dict__.update(saved)


class _Slot:
    """One worker process and the fit it is running (with its deadline)."""

    def __init__(self, ctx: Any):
        self.ctx = ctx
        self.task: FitTask | None = None
        self.deadline = math.inf
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.process = self.ctx.Process(target=_worker, args=(child, os.getpid(), sys.path),
                                        daemon=True)
        with _main_module_hidden():
            self.process.start()
        child.close()
        # Wait until the worker runs: a cold fork server's imports must not count against the
        # first fit's time limit, which starts when the task is sent. A signal during the wait
        # (the slot is not yet the pool's to clean up) takes this worker down with it.
        try:
            self.conn.recv_bytes()
        except BaseException:
            self.stop()
            raise

    def send(self, task: FitTask, timeout: float | None) -> None:
        self.task = task
        self.deadline = time.monotonic() + timeout + GRACE_SECONDS if timeout else math.inf
        self.conn.send_bytes(cloudpickle.dumps(task))

    def collect(self, ready: list[Any], timeout: float | None) -> FitResult | None:
        """The fit's result if it is over (returned, died or late), else None."""
        task = self.task
        if self.conn in ready or self.process.sentinel in ready:
            try:
                result = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                self.process.join()
                result = failed_fit(task, f"the worker running this fit died ({_death(self.process)})")
                self.restart()
        elif time.monotonic() >= self.deadline:
            result = failed_fit(task, _timeout_message(timeout))
            self.restart()
        else:
            return None
        self.task, self.deadline = None, math.inf
        return result

    def restart(self) -> None:
        self.stop()
        self._start()

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


def _death(process: multiprocessing.Process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        return f"killed by {name}" + (", perhaps out of memory" if name == "SIGKILL" else "")
    return f"exit status {code}"


def _pool_results(tasks: Sequence[FitTask], jobs: int, timeout: float | None) -> Iterator[FitResult]:
    """Run `tasks` on `jobs` worker processes; yields results in completion order."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["spurbench.harness.fitting"])  # workers start with the imports done
    queue = deque(tasks)
    slots = [_Slot(ctx) for _ in range(min(jobs, len(tasks)))]
    try:
        for slot in slots:
            slot.send(queue.popleft(), timeout)
        while busy := [s for s in slots if s.task is not None]:
            nearest = min(s.deadline for s in busy)
            ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
                         None if nearest == math.inf else max(0.0, nearest - time.monotonic()))
            for slot in busy:
                result = slot.collect(ready, timeout)
                if result is not None:
                    yield result
                    if queue:
                        slot.send(queue.popleft(), timeout)
    finally:
        for slot in slots:
            slot.stop()


def _dask_results(client: Any, tasks: Sequence[FitTask], timeout: float | None
                  ) -> Iterator[FitResult]:
    """Run `tasks` on a Dask cluster; yields results one fit at a time, batch by batch as they
    complete.

    Without a time limit a task runs a batch of fits (`_batch_size`: one at first, then about
    BATCH_SECONDS of them by the measured seconds per fit), a few batches per thread in flight,
    so the scheduler's per-task cost is spread over many fits and the parent holds few futures.
    A batch whose task fails (its worker died: KilledWorker) is rerun one fit per task, each
    alone on the cluster once the batches in flight are done: Dask counts a death against every
    task its worker held, so only then is the fit that kills its worker the only one stored as
    an error. With a time limit each fit is its own task, only as many in flight as the cluster
    has threads, so each starts when submitted; a late one is cancelled and its worker restarted
    (its thread cannot be stopped otherwise)."""
    from distributed import wait as dask_wait

    threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()) or 1
    window = threads if timeout else BATCHES_PER_THREAD * threads
    queue = deque(tasks)
    rerun: deque[FitTask] = deque()  # the fits of a failed batch, to run one at a time
    seconds_per_fit: float | None = None
    flight: dict[Any, tuple[list[FitTask], float]] = {}
    while queue or rerun or flight:
        while (queue or rerun) and len(flight) < window:
            if rerun:  # alone, so a dying worker takes no other task down with it
                if flight:
                    break
                batch = [rerun.popleft()]
            else:
                size = 1 if timeout else _batch_size(seconds_per_fit, len(queue), threads)
                batch = [queue.popleft() for _ in range(size)]
            future = client.submit(_remote_batch, batch, pure=False)
            flight[future] = (batch, time.monotonic() + timeout + GRACE_SECONDS if timeout
                              else math.inf)
        nearest = min(deadline for _, deadline in flight.values())
        wait_for = None if nearest == math.inf else max(0.0, nearest - time.monotonic())
        with contextlib.suppress(TimeoutError):
            dask_wait(list(flight), timeout=wait_for, return_when="FIRST_COMPLETED")
        for future in [f for f in flight if f.done()]:
            batch, _ = flight.pop(future)
            try:
                results = future.result()
            except Exception as exc:  # the worker died; Dask has given up on this task
                if len(batch) > 1:
                    rerun.extend(batch)
                    continue
                results = [failed_fit(batch[0], f"the Dask worker running this fit died ({exc})")]
            else:
                seconds_per_fit = _seconds_per_fit(seconds_per_fit, results)
            yield from results
        late = [f for f, (_, deadline) in flight.items() if time.monotonic() >= deadline]
        if late:
            running = {key: addr for addr, keys in client.processing().items() for key in keys}
            client.cancel(late)
            client.restart_workers(sorted({running[f.key] for f in late if f.key in running}))
            for future in late:
                for task in flight.pop(future)[0]:
                    yield failed_fit(task, _timeout_message(timeout))


@contextlib.contextmanager
def dask_client(jobs: int, scheduler: str | None) -> Iterator[Any]:
    """A Dask client: on a LocalCluster of `jobs` single-thread workers, or on `scheduler`.
    Called before the store is opened, so a failed connection changes nothing stored."""
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SpurbenchError("--backend dask needs the dask extra: pip install 'spurbench[dask]'"
                             ) from None
    with contextlib.ExitStack() as stack:
        # Dask keeps the last 1,000 messages of each connection for debugging, and the message
        # that sends a task carries its batch of fits: on a local cluster (its scheduler runs in
        # this process) that log alone would hold copies of tens of thousands of fits.
        stack.enter_context(dask.config.set({"distributed.admin.low-level-log-length":
                                             DASK_LOG_LENGTH}))
        if scheduler is None:
            workers = jobs if jobs > 0 else os.cpu_count() or 1
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0" if _has_bokeh() else None))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout="10s"))
            except (OSError, ValueError, TypeError) as exc:
                raise SpurbenchError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        # Import the fitting code on every worker now, so that a fit's clock (which starts when
        # it is submitted) does not count a cold worker's imports.
        try:
            client.run(importlib.import_module, "spurbench.harness.fitting")
        except ImportError as exc:
            raise SpurbenchError(f"--backend dask: the workers cannot import spurbench ({exc}); "
                                 "install it on every worker") from None
        if client.dashboard_link:  # to watch the run's tasks live
            print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
        yield client


def _has_bokeh() -> bool:
    """Whether Dask can serve its dashboard (bokeh is in the dask extra; without it, no link)."""
    return importlib.util.find_spec("bokeh") is not None


def execute(tasks: Sequence[FitTask], jobs: int, timeout: float | None,
            client: Any = None) -> Iterator[FitResult]:
    """Results of `tasks` in completion order: on Dask when a client is given; in this process
    with no time limit and one job, or a small grid with the job count left automatic
    (`jobs` < 0); else on the pool. An explicit `jobs` >= 2 always gets workers: the isolation
    (a dying model costs one fit) is what the user asked for. Close the iterator to stop early:
    its workers are killed."""
    workers = jobs if jobs > 0 else os.cpu_count() or 1
    if client is not None:
        yield from _dask_results(client, tasks, timeout)
    elif timeout is None and (workers == 1 or (jobs < 0 and len(tasks) < IN_PROCESS_MAX)):
        yield from map(run_fit, tasks)
    else:
        yield from _pool_results(tasks, workers, timeout)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise `Interrupted` in the main thread, so the pool's cleanup kills
    the workers and the command line says how to resume; the previous handlers come back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
