"""Faults: a worker that dies or hangs costs one fit, never the run; signals to the parent take the
workers down; Dask enforces the time limit from outside. Real processes and a real LocalCluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import faulty_models
import pytest
from spurbench import harness, registry
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import read_results
from spurbench.registry import register_model

TESTS = Path(__file__).parent


@pytest.fixture(autouse=True)
def _faulty(monkeypatch):
    """The faulty models, registered for this module's tests only."""
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    for fault in ("os_exit", "sigkill", "system_exit", "gil_hang", "sleep"):
        register_model(f"faulty_{fault}", paradigm="generative")(getattr(faulty_models, fault))


def _run(spec: Path, out: Path, models: list[str], **kwargs):
    return harness.run([load_scenario(spec)], models, out_dir=out, progress=False, seeds=1,
                       **kwargs)


@pytest.mark.parametrize(("fault", "reason"), [("os_exit", "exit status 3"),
                                               ("sigkill", "killed by SIGKILL"),
                                               ("system_exit", "SystemExit")])
def test_a_dying_model_becomes_error_rows_and_resume_does_not_rerun_it(tiny_spec, tmp_path, fault,
                                                                        reason):
    out = tmp_path / "o"
    # a time limit puts the fits on worker processes, whatever the grid's size
    summary = _run(tiny_spec, out, [f"faulty_{fault}", "lda"], jobs=2, timeout=60)
    df = read_results(out)
    bad = df[df.model == f"faulty_{fault}"]
    assert summary.done == 2 and summary.failed == 1
    assert (bad.status == "error").all() and bad.error.str.contains(reason).all()
    assert (df[df.model == "lda"].status == "ok").all()
    assert (out / "results.csv").exists()
    again = _run(tiny_spec, out, [f"faulty_{fault}", "lda"], jobs=2, timeout=60, resume=True)
    assert again.skipped == 2 and again.done == 0


def test_an_explicit_jobs_2_runs_even_a_small_grid_on_workers_so_os_exit_costs_one_fit(tiny_spec,
                                                                                      tmp_path):
    # no time limit: only the explicit --jobs 2 keeps this 4-fit grid off the parent process
    summary = _run(tiny_spec, tmp_path / "o", ["faulty_os_exit", "lda"], jobs=2)
    df = read_results(tmp_path / "o")
    assert summary.done == 2 and summary.failed == 1
    assert df[df.model == "faulty_os_exit"].error.str.contains("exit status 3").all()


def test_a_fit_hung_in_c_code_holding_the_gil_is_stopped_from_outside(tiny_spec, tmp_path):
    start = time.monotonic()
    summary = _run(tiny_spec, tmp_path / "o", ["faulty_gil_hang", "lda"], jobs=1, timeout=1)
    assert time.monotonic() - start < 20, "the hung fit must be killed near its deadline"
    df = read_results(tmp_path / "o")
    hung = df[df.model == "faulty_gil_hang"]
    assert summary.failed == 1 and hung.error.str.contains("timeout").all()
    assert (df[df.model == "lda"].status == "ok").all()


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid`, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found.update(kids)
        todo.extend(kids)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _start_sleeping_run(spec: Path, out: Path) -> tuple[subprocess.Popen, set[int]]:
    """A CLI run whose two workers sleep in their fits; returns it once both workers exist."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "spurbench", "run", str(spec), "--model", "faulty_models:sleep",
         "--jobs", "2", "--timeout", "120", "--out", str(out), "--no-report", "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=(out.parent / "stderr").open("w"), env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_descendants(proc.pid)) < 3:  # fork server + 2
        time.sleep(0.2)
    workers = _descendants(proc.pid)
    assert len(workers) >= 3, "the workers did not start"
    return proc, workers


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_parent_kills_the_workers_and_says_how_to_resume(tmp_path, signum):
    from spec_helpers import write_spec

    proc, workers = _start_sleeping_run(write_spec(tmp_path, seeds=2), tmp_path / "o")
    proc.send_signal(signum)
    proc.wait(timeout=30)
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == 128 + signum
    assert err.strip().count("\n") == 0 and "--resume" in err and "Traceback" not in err
    deadline = time.monotonic() + 5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers)


def test_workers_die_within_seconds_when_the_parent_is_killed(tmp_path):
    from spec_helpers import write_spec

    proc, workers = _start_sleeping_run(write_spec(tmp_path, seeds=2), tmp_path / "o")
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(workers)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_dask_stops_a_hung_fit_from_outside_and_stores_it_as_an_error(tiny_spec, tmp_path):
    start = time.monotonic()
    summary = _run(tiny_spec, tmp_path / "o", ["faulty_sleep", "lda"], jobs=2, timeout=2,
                   backend="dask")
    assert time.monotonic() - start < 45, "the hung fit must not hold the run"
    df = read_results(tmp_path / "o")
    assert summary.failed == 1
    assert df[df.model == "faulty_sleep"].error.str.contains("timeout").all()
    assert (df[df.model == "lda"].status == "ok").all()


_UNGUARDED_SCRIPT = """
import sys
from sklearn.naive_bayes import GaussianNB
from spurbench import harness
from spurbench.registry import register_model
from spurbench.harness.spec import load_scenario

print("script body runs", flush=True)


class ScriptNB(GaussianNB):
    pass


register_model("script_nb", paradigm="generative")(lambda random_state: ScriptNB())
summary = harness.run([load_scenario(sys.argv[1])], ["script_nb", "lda"], out_dir=sys.argv[2],
                      jobs=int(sys.argv[3]), timeout=60, progress=False)
print(summary.failed, "failed")
"""


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_script_without_a_main_guard_runs_once_and_its_own_models_reach_the_workers(
        tiny_spec, tmp_path, jobs):
    script = tmp_path / "script.py"
    script.write_text(_UNGUARDED_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(tiny_spec), str(tmp_path / "o"),
                           str(jobs)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("script body runs") == 1
    assert "0 failed" in proc.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_dask_stores_a_fit_that_kills_its_worker_as_an_error_and_goes_on(tiny_spec, tmp_path):
    summary = _run(tiny_spec, tmp_path / "o", ["faulty_os_exit", "lda"], jobs=2, backend="dask")
    df = read_results(tmp_path / "o")
    assert summary.failed == 1
    assert df[df.model == "faulty_os_exit"].error.str.contains("died").all()
    assert (df[df.model == "lda"].status == "ok").all()


@pytest.mark.parametrize("jobs", ["2"])
def test_starting_the_workers_does_not_count_against_a_fits_time_limit(tiny_spec, tmp_path, jobs):
    # a fresh process: the fork server starts cold, importing the fitting code (seconds)
    out = tmp_path / "o"
    proc = subprocess.run([sys.executable, "-m", "spurbench", "run", str(tiny_spec), "--models",
                           "lda,gaussian_nb", "--timeout", "0.5", "--jobs", jobs, "--out", str(out),
                           "--no-report", "--no-progress"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (read_results(out).status == "ok").all()
