"""Dask runs fits in batches sized from their measured seconds: the rule itself, the same rows as
one job, and a fit that kills its worker costs only itself, not its batch. A real LocalCluster."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import dask
import faulty_models
import pandas as pd
import pytest
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import SchedulerPlugin
from spec_helpers import write_spec
from spurbench import harness, registry
from spurbench.harness.execution import BATCH_MAX, BATCH_SECONDS, _batch_size, _dask_results, _seconds_per_fit
from spurbench.harness.fitting import FitResult
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import METRIC_COLUMNS, read_results
from spurbench.registry import register_model

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning")]


def _result(seconds: float) -> FitResult:
    return FitResult("key", [], seconds)


def test_a_batch_starts_at_one_fit_then_holds_about_the_target_seconds_within_the_cap_and_tail():
    assert _batch_size(None, 10_000, 2) == 1  # nothing measured yet
    per_fit, sizes = None, []
    for _ in range(12):  # fits of 10 ms, measured batch after batch
        per_fit = _seconds_per_fit(per_fit, [_result(0.010)] * 3)
        sizes.append(_batch_size(per_fit, 10_000, 2))
    assert sizes == sorted(sizes) and sizes[-1] == int(BATCH_SECONDS / 0.010)
    per_fit = _seconds_per_fit(per_fit, [_result(1.0)])  # a slow batch shrinks the next ones
    assert _batch_size(per_fit, 10_000, 2) < sizes[-1]
    assert _batch_size(1e-5, 10_000, 2) == BATCH_MAX
    assert _batch_size(0.0, 10_000, 2) == BATCH_MAX
    assert _batch_size(BATCH_SECONDS * 2, 10_000, 2) == 1  # a fit longer than the target
    assert _batch_size(1e-5, 40, 2) == 10  # the tail: two batches per thread still to come
    assert _batch_size(1e-5, 3, 2) == 1


class _Watch(SchedulerPlugin):
    """Counts, on the scheduler, the tasks that returned and the workers that left (died)."""

    def __init__(self) -> None:
        self.returned = 0
        self.workers_left = 0

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        self.returned += finish == "memory"

    def remove_worker(self, scheduler: Any, worker: str, **kwargs: Any) -> None:
        self.workers_left += 1


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # A task is given up after the first worker death it witnesses (Dask retries it on three
    # more workers by default): a fit that kills its worker costs two deaths here, not eight.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                               dashboard_address=None)
    with cluster:
        yield cluster


@pytest.fixture
def watch(cluster: LocalCluster) -> Iterator[_Watch]:
    plugin = _Watch()
    cluster.scheduler.add_plugin(plugin, name="watch")
    yield plugin
    cluster.scheduler.remove_plugin(name="watch")


def test_batched_dask_stores_the_same_rows_as_one_job_in_fewer_tasks_than_fits(tmp_path, cluster,
                                                                               watch):
    spec = write_spec(tmp_path, n_train="60, 100", seeds=20)  # 2 models x 2 sizes x 20 seeds
    columns = ["scenario", "shift", "model", "seed", "n_train", *METRIC_COLUMNS, "status"]
    frames = {}
    for label, kwargs in {"one": {"jobs": 1},
                          "dask": {"backend": "dask", "scheduler": cluster.scheduler_address}
                          }.items():
        harness.run([load_scenario(spec)], ["gaussian_nb", "lda"], out_dir=tmp_path / label,
                    progress=False, **kwargs)
        frames[label] = read_results(tmp_path / label)[columns]
    assert len(frames["one"]) == 80 * 3
    pd.testing.assert_frame_equal(frames["one"], frames["dask"])
    assert watch.returned < 80, "some Dask task must have run more than one fit"


def test_a_fit_that_kills_its_worker_inside_a_batch_costs_only_itself(tmp_path, cluster, watch,
                                                                       monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_model("faulty_os_exit", paradigm="generative")(faulty_models.os_exit)
    scenario = load_scenario(write_spec(tmp_path, n_train="60", seeds=48))
    tasks = harness.expand_grid([scenario], ["lda"])
    faulty = harness.expand_grid([scenario], ["faulty_os_exit"], seeds=1)[0]
    tasks.insert(24, faulty)  # mid-grid: its batch holds several fits (at most 24 / 4)
    with Client(cluster) as client:
        client.run(importlib.import_module, "spurbench.harness.fitting")
        results = {r.key: r for r in _dask_results(client, tasks, None)}
    assert len(results) == len(tasks)
    assert results.pop(faulty.key).rows[0]["error"].startswith("the Dask worker running this fit died")
    assert [r.rows[0]["error"] for r in results.values() if r.failed] == [], watch.workers_left
    # its batch died once, then the fit died once more alone: it was not its batch's only fit
    assert watch.workers_left == 2
