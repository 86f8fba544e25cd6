"""`--scheduler` implies the Dask backend and prints the dashboard link; loky with a scheduler is refused."""

from __future__ import annotations

import pandas as pd
import pytest
from spurbench.interface.cli import main


@pytest.mark.slow
def test_scheduler_alone_runs_on_that_cluster_and_prints_its_dashboard(tiny_spec, tmp_path, capsys):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        code = main(["run", str(tiny_spec), "--models", "gaussian_nb", "--seeds", "1", "--scheduler",
                     cluster.scheduler_address, "--out", str(tmp_path / "run"), "--no-report",
                     "--no-progress"])
    assert code == 0
    assert "dask dashboard: http://127.0.0.1:" in capsys.readouterr().err
    assert (pd.read_csv(tmp_path / "run" / "results.csv")["status"] == "ok").all()


def test_loky_with_a_scheduler_is_refused_in_one_line(tiny_spec, tmp_path, capsys):
    code = main(["run", str(tiny_spec), "--backend", "loky", "--scheduler", "tcp://127.0.0.1:1",
                 "--out", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "spurbench: error: --scheduler needs the dask backend; drop --backend loky")
