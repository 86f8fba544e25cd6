"""Kill safety, concurrent writers and cross-backend determinism, with real processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from spec_helpers import write_spec
from spurbench import harness
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import METRIC_COLUMNS, ResultStore, read_results

VALUE_COLUMNS = ["scenario", "shift", "model", "seed", "n_train", *METRIC_COLUMNS, "status"]
MODELS = "gaussian_nb,lda,logistic_regression,random_forest"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "spurbench", "run", *args, "--no-report", "--no-progress"]


def _stored_fits(out: Path) -> int:
    db = out / "results.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT COUNT(*) FROM fits").fetchone()[0]
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    spec = write_spec(tmp_path, n_train="100, 300", seeds=8)  # 4 models x 2 sizes x 8 seeds
    killed = tmp_path / "killed"
    proc = subprocess.Popen(_cli(str(spec), "--models", MODELS, "--jobs", "1", "--out", str(killed)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _stored_fits(killed) < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; enlarge the grid"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _stored_fits(killed)
    assert 5 <= partial < 64

    resumed = subprocess.run(_cli(str(spec), "--models", MODELS, "--jobs", "2", "--out",
                                  str(killed), "--resume"), capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{partial} skipped" in resumed.stdout

    harness.run([load_scenario(spec)], MODELS.split(","), out_dir=tmp_path / "clean", jobs=2,
                progress=False)
    after, clean = read_results(killed), read_results(tmp_path / "clean")
    assert len(after) == len(clean) == 64 * 3
    assert not after.duplicated(["scenario", "shift", "model", "seed", "n_train"]).any()
    pd.testing.assert_frame_equal(after[VALUE_COLUMNS], clean[VALUE_COLUMNS])


def test_a_second_writer_on_the_same_directory_is_refused(tiny_spec, tmp_path):
    out = tmp_path / "o"
    with ResultStore(out):  # a run in progress holds the directory
        proc = subprocess.run(_cli(str(tiny_spec), "--models", "lda", "--out", str(out)),
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "another spurbench run is writing here" in proc.stderr
    assert "Traceback" not in proc.stderr
    # once the first writer is gone, the directory is usable again
    proc = subprocess.run(_cli(str(tiny_spec), "--models", "lda", "--out", str(out)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_values_are_identical_with_one_worker_two_workers_and_dask_clusters(tmp_path):
    from distributed import LocalCluster  # the dask extra; `make test` installs it

    spec = write_spec(tmp_path, n_train="80", seeds=2)
    models = ["gaussian_nb", "qda", "random_forest", "mlp"]
    frames = {}
    for label, kwargs in {"one": {"jobs": 1}, "two": {"jobs": 2},
                          "dask": {"jobs": 2, "backend": "dask"}}.items():
        harness.run([load_scenario(spec)], models, out_dir=tmp_path / label, progress=False,
                    **kwargs)
        frames[label] = read_results(tmp_path / label)[VALUE_COLUMNS]
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # an existing cluster, by address
        harness.run([load_scenario(spec)], models, out_dir=tmp_path / "address", progress=False,
                    backend="dask", scheduler=cluster.scheduler_address)
    frames["address"] = read_results(tmp_path / "address")[VALUE_COLUMNS]
    assert len(frames["one"]) == 4 * 2 * 3
    pd.testing.assert_frame_equal(frames["one"], frames["two"])
    pd.testing.assert_frame_equal(frames["one"], frames["dask"])
    pd.testing.assert_frame_equal(frames["one"], frames["address"])
