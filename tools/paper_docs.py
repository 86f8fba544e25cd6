"""Write results/paper/README.md and README.md's results block from the stored reference run.

Why a tool: the prose about the reference run must come from code run on the stored rows, never
typed in. Everything here is copied from results/paper/report.md (its Summary), run.json, the rows
(counts and, under `timing`, how long the run's fits and report took, recorded by the run itself)
and experiments.md (its numbered headings).

    python tools/paper_docs.py results/paper

`tests/test_docs.py` checks that every bullet of both outputs is a line of report.md.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"


def summary_section(report: str) -> str:
    """report.md's `## Summary` section, without its heading and its closing 'Details' line."""
    body = report.split("## Summary\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in body.strip().splitlines() if not line.startswith("Details:"))


def answer_bullets(report: str) -> list[str]:
    """The primary claims' bullets of the Summary (`**Answer**` up to the next bold heading)."""
    answer = summary_section(report).split("**Answer**", 1)[1].split("\n**", 1)[0]
    return [line for line in answer.splitlines() if line.startswith("- ")]


def where_paragraph(report: str) -> str:
    """The Summary's 'Where each paradigm wins' text, its lines joined (no figure line)."""
    part = summary_section(report).split("**Where each paradigm wins**", 1)[1]
    lines = [line for line in part.splitlines()[1:] if line and not line.startswith("![")]
    return " ".join(lines)


def run_counts(run_dir: Path) -> dict[str, int]:
    """Scenarios and families (with shifted scenarios) of the stored rows."""
    from spurbench.harness.store import read_results

    rows = read_results(run_dir)
    shifted = rows[rows.groupby("scenario")["shift"].transform("nunique") > 1]
    return {"scenarios": rows["scenario"].nunique(), "families": shifted["family"].nunique()}


def run_timing(run: dict) -> tuple[int, int, float]:
    """Fits run, their wall seconds and the report's minutes, as the run recorded them."""
    timing = run.get("timing")
    if not timing or timing.get("report_seconds") is None:
        raise SystemExit("paper_docs: run.json has no `timing` with a report time: rerun `make paper`")
    return (int(timing["fits_run"]) + int(timing["fits_stored_already"]), round(timing["fits_seconds"]),
            round(timing["report_seconds"] / 60, 1))


def experiment_list(experiments: str) -> list[str]:
    """One numbered link per `## N. title` heading of experiments.md."""
    items = []
    for number, title in re.findall(r"^## (\d+)\. (.+)$", experiments, re.M):
        anchor = re.sub(r"[^\w\- ]", "", f"{number}. {title}".lower()).replace(" ", "-")
        items.append(f"{number}. [{title}](experiments.md#{anchor})")
    return items


def panel_rows(board):
    """The leaderboard's panel rows (reference models are listed in report.md)."""
    return board[board["reference"] == 0]


def paper_readme(run_dir: Path) -> str:
    report = (run_dir / "report.md").read_text()
    run = json.loads((run_dir / "run.json").read_text())
    counts, (fits, seconds, report_minutes) = run_counts(run_dir), run_timing(run)
    suite = re.search(r"declared headline suite: (\d+) scenarios in (\d+) families", report)
    command = run["command"].replace(" --no-progress", "")
    return "\n".join([
        "# The reference run", "",
        "This folder is spurbench's committed reference run. Every number on this page is copied from",
        "[report.md](report.md), which fixed rules write from the stored rows, or counted from",
        "[results.parquet](results.parquet) by `tools/paper_docs.py`; nothing is typed in.", "",
        f"* **Produced by** `make paper` (`{command}`) at the commit recorded in [run.json](run.json):",
        f"  {fits:,} fits over {counts['scenarios']} scenarios, {counts['families']} families "
        f"with shifted scenarios, in {seconds:,} s of fitting (wall time, two cores; as the run recorded "
        f"in run.json) and about {report_minutes:g} minutes of report.",
        f"  The headline reads the declared headline suite: {suite[1]} scenarios in {suite[2]} families "
        "(listed in [datasets/README.md](../../datasets/README.md#the-headline-suite)).",
        "* **Rebuilt by** `make figures`: every figure, table, report.md, experiments.md and "
        "report.html", "  from [results.parquet](results.parquet) and run.json, byte for byte",
        "  ([docs/cli.md](../../docs/cli.md#what-is-reproduced-and-how-exactly)).",
        "* **Design**: [docs/statistics.md](../../docs/statistics.md). Words (drop, gap, robustness):",
        "  [README](../../README.md#words).", "",
        "## Summary (from report.md)", "",
        summary_section(report).replace("](#", "](report.md#"),
        "Details: [design](report.md#design), [all claims](report.md#what-this-run-shows), "
        "[figures](report.md#figures), [tables](report.md#tables), "
        "[leaderboard](report.md#leaderboard).", "",
        "## The experiments", "",
        "Each paper experiment tests a published claim and states its verdict in",
        "[experiments.md](experiments.md): **reproduced**, **not detected** (with the design's power),",
        "**contradicted**, or **not tested here** where this benchmark's setting differs from the",
        "published one.", "",
        *experiment_list((run_dir / "experiments.md").read_text()), ""])


def readme_block(run_dir: Path) -> str:
    from spurbench.harness.store import read_results
    from spurbench.report.leaderboard import leaderboard, to_markdown

    report = (run_dir / "report.md").read_text()
    fits, seconds, report_minutes = run_timing(json.loads((run_dir / "run.json").read_text()))
    suite = re.search(r"declared headline suite: (\d+) scenarios in (\d+) families", report)
    return "\n".join([
        START,
        f"The reference run `results/paper/` (`make paper`: {fits:,} fits in {seconds:,} s "
        f"on two cores, then about {report_minutes:g}",
        "minutes of report; `make figures` rebuilds every",
        f"figure and table from its rows) reads the declared headline suite: {suite[1]} scenarios in "
        f"{suite[2]} families.",
        "Discriminative minus generative, over the panel, families weighing equally (copied from",
        "[report.md](results/paper/report.md#summary)):", "",
        *answer_bullets(report), "",
        "Where each paradigm wins (exploratory; [conditions](results/paper/tables/conditions_by_source.csv),",
        "[meta-regression](results/paper/tables/meta_regression.csv)): " + where_paragraph(report), "",
        "![Where each paradigm wins](results/paper/figures/conditions.png)", "",
        "The panel (`spurbench leaderboard results/paper --markdown`; reference rows follow in report.md):",
        "", to_markdown(panel_rows(leaderboard(read_results(run_dir)))).strip(), "",
        "The run, written up: [results/paper/README.md](results/paper/README.md); every claim in",
        "[report.md](results/paper/report.md), every paper experiment in",
        "[experiments.md](results/paper/experiments.md).",
        END])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    args = parser.parse_args(argv)
    (args.run_dir / "README.md").write_text(paper_readme(args.run_dir))
    readme = ROOT / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    readme.write_text(head + readme_block(args.run_dir)
                      + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
