"""`make figures` reproduces every committed output of results/paper byte for byte from the
committed rows: each figure (PNG and PDF), each CSV table, report.md, experiments.md and
report.html.

Byte-identical, with no tolerance, on any machine with the same library versions (run.json's,
and fontTools and Pillow, which write the PDF fonts and the PNG files: `reproducible.FILE_WRITERS`;
a fontTools of another version embeds a font's name table differently, so every PDF differs): the
report computes on one thread, rounds what iterative fits give at the tables' precision and picks
figure ticks by integer comparisons (`spurbench.report.reproducible`); figures carry no
timestamps (`style.save`). Nothing is compared within a tolerance. A difference here means the
code or a library changed since `make paper`: rerun `make figures` and commit what it writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from spurbench.harness.store import COLUMNS
from spurbench.report import write_report

PAPER = Path(__file__).resolve().parent.parent / "results" / "paper"
# Every output the report writes, relative to the run directory (the rows and run.json are inputs).
OUTPUTS = ("figures/*.png", "figures/*.pdf", "tables/*.csv", "report.md", "experiments.md", "report.html")


def outputs(run: Path) -> set[str]:
    return {path.relative_to(run).as_posix() for pattern in OUTPUTS for path in run.glob(pattern)}


def test_every_committed_paper_output_is_regenerated_byte_identical_from_the_committed_rows(tmp_path):
    columns = pd.read_parquet(PAPER / "results.parquet").columns
    assert set(COLUMNS) <= set(columns), "results/paper predates the row schema: rerun `make paper`"
    run = tmp_path / PAPER.name  # the run directory's name is the reports' title
    run.mkdir()
    for name in ("results.parquet", "run.json"):  # what a fresh clone holds
        shutil.copy(PAPER / name, run / name)
    write_report(run, pdf=True)  # what `make figures` runs
    committed, fresh = outputs(PAPER), outputs(run)
    assert len([p for p in committed if p.startswith("figures/")]) > 0
    assert committed - fresh == set(), "committed but no longer written: rerun `make figures`"
    assert fresh - committed == set(), "written but not committed: rerun `make figures` and commit"
    differ = sorted(p for p in committed if (PAPER / p).read_bytes() != (run / p).read_bytes())
    assert differ == [], f"{len(differ)} of {len(committed)} outputs differ from a rerun: {differ}"
