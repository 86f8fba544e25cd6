"""`make figures` reproduces the committed paper figures byte for byte from the committed rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from benchmark.report import write_report
from benchmark.store import COLUMNS

PAPER = Path(__file__).resolve().parent.parent / "results" / "paper"


def test_every_committed_paper_figure_is_regenerated_byte_identical_from_the_committed_rows(tmp_path):
    columns = pd.read_parquet(PAPER / "results.parquet").columns
    assert set(COLUMNS) <= set(columns), "results/paper predates the row schema: rerun `make paper`"
    run = tmp_path / PAPER.name  # the run directory's name is the reports' title
    run.mkdir()
    for name in ("results.parquet", "run.json"):  # what a fresh clone holds
        shutil.copy(PAPER / name, run / name)
    write_report(run, pdf=True)  # what `make figures` runs
    committed = sorted((PAPER / "figures").glob("*.png")) + sorted((PAPER / "figures").glob("*.pdf"))
    assert committed
    for path in committed:
        fresh = run / "figures" / path.name
        assert fresh.exists(), f"{path.name} is committed but no longer drawn: rerun `make figures`"
        assert fresh.read_bytes() == path.read_bytes(), f"{path.name} differs from a rerun"
