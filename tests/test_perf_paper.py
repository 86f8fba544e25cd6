"""`make perf` reads `make paper`'s time from the paper run's own record: `spurbench run` writes
the wall time of its fits and its report into run.json, and `tools/perf.py` sums them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from spurbench.harness.store import TIMING_KEY
from spurbench.interface.cli import main


def _tool(name: str):
    """A module of tools/ (not a package), loaded from its file."""
    path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


perf = _tool("perf")


def _run(spec: Path, out: Path, *extra: str) -> dict:
    assert main(["run", str(spec), "--models", "gaussian_nb,logistic_regression", "--out", str(out),
                 "--jobs", "1", "--no-progress", *extra]) == 0
    return json.loads((out / "run.json").read_text())


def test_a_run_records_its_fit_and_report_times_and_perf_sums_them(tiny_spec, tmp_path):
    meta = _run(tiny_spec, tmp_path / "run")
    timing = meta[TIMING_KEY]
    assert timing["fits_run"] == 4 and timing["fits_stored_already"] == 0  # 2 models x 2 seeds
    assert timing["fits_seconds"] > 0 and timing["report_seconds"] > 0 and timing["jobs"] == 1
    paper = perf.paper_timing(tmp_path / "run")
    assert paper["total_seconds"] == pytest.approx(timing["fits_seconds"] + timing["report_seconds"])
    assert paper["git_commit"] == meta["git_commit"]
    # the record is the only thing the timing adds: the report read the same configuration
    assert set(meta) - {TIMING_KEY} == {"command", "git_commit", "models", "run_seed", "scenarios", "seeds",
                                        "versions"}


def test_perf_reads_no_time_from_a_run_without_a_complete_record(tiny_spec, tmp_path):
    assert perf.paper_timing(tmp_path / "nothing") is None
    meta = _run(tiny_spec, tmp_path / "run", "--no-report")
    assert meta[TIMING_KEY]["report_seconds"] is None
    assert perf.paper_timing(tmp_path / "run") is None
    # a resumed run records its own invocation: nothing refitted
    meta = _run(tiny_spec, tmp_path / "run", "--resume")
    assert meta[TIMING_KEY]["fits_run"] == 0 and meta[TIMING_KEY]["fits_stored_already"] == 4
    assert perf.paper_timing(tmp_path / "run")["total_seconds"] > 0
