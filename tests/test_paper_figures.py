"""`make figures` reproduces the committed paper figures byte for byte from the committed CSV."""

from __future__ import annotations

from pathlib import Path

from benchmark.report import figures, style
from benchmark.store import read_results

PAPER = Path(__file__).resolve().parent.parent / "results" / "paper"


def test_main_paper_figure_is_regenerated_byte_identical_from_the_committed_csv(tmp_path):
    spec = next(s for s in figures.FIGURES if s.name == "degradation_accuracy")
    frame = read_results(PAPER)  # results.csv: the committed form of the reference run
    style.save(figures.draw(frame, spec), tmp_path, spec.name)
    for ext in ("png", "pdf"):
        fresh, committed = tmp_path / f"{spec.name}.{ext}", PAPER / "figures" / f"{spec.name}.{ext}"
        assert fresh.read_bytes() == committed.read_bytes(), f"{committed.name} differs from a rerun"
