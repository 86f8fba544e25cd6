"""`write_report(run_dir)`: a run's stored rows -> figures, CSV tables, `report.md` and the paper
experiments' `experiments.md` (see `spurbench.report.experiments`).

Everything comes from `results.csv` / `results.sqlite` and the run's recorded configuration;
nothing is typed in by hand, and the same rows always give the same bytes (no timestamps). The
claims of both documents are values, Holm-corrected together once before either is written, so
that their "clear" calls share one correction (see `claims`).
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from pandas.api.types import is_numeric_dtype
from spurbench.errors import NothingToReport
from spurbench.evaluation.selection import fixed
from spurbench.harness.store import read_meta, read_results
from spurbench.report import (
    analysis,
    claims,
    conditions,
    experiments,
    findings,
    gallery,
    mechanisms,
    prepare,
    style,
)
from spurbench.report.drawing import Drawer
from spurbench.report.html import HTML_NAME, write_html
from spurbench.report.leaderboard import leaderboard, to_markdown
from spurbench.report.prepare import as_ranked, scenario_order, usable, with_recorded_tags
from spurbench.report.reproducible import FLOAT_FORMAT, rounded, single_threaded
from spurbench.report.tables import Table, build_tables

REPORT_NAME = "report.md"
EXPERIMENTS_NAME = "experiments.md"
FIGURES_DIR = "figures"
TABLES_DIR = "tables"


def _cell(value: Any, column: str) -> str:
    """One Markdown cell: 3 decimals, 2 significant digits for p-values, "–" for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.2g}" if column.startswith("p_") else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        value = ", ".join(map(str, value))
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table of `frame` (column names as headers)."""
    if frame.empty:
        return "_(no rows)_"
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("--:" if is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, c) for v, c in zip(row, columns, strict=True)) + " |")
    return "\n".join(lines)


def _submit_gallery(drawer: Drawer, frame: pd.DataFrame, out_dir: Path) -> list[_PendingFigure]:
    """Start drawing every figure of report.md (see `drawing`); each resolves to its lines."""
    return [_PendingFigure(plan.name, plan.caption,
                           drawer.submit(partial(gallery.draw, plan), out_dir, plan.name))
            for plan in gallery.plans(frame)]


@dataclass(frozen=True)
class _PendingFigure:
    """A figure being drawn: its Markdown once saved, or the note that says why it was skipped."""

    name: str
    caption: str
    outcome: Future

    def lines(self, skipped: str = "Figure `{name}` skipped: {reason}.") -> list[str]:
        reason = self.outcome.result()
        if reason is not None:
            return [skipped.format(name=self.name, reason=reason), ""]
        return [f"**{self.name}**: {self.caption}", "", f"![{self.name}]({FIGURES_DIR}/{self.name}.png)", ""]


def _render_figures(pending: list[_PendingFigure]) -> tuple[list[str], list[str]]:
    """Wait for every figure of report.md; returns the Markdown blocks and the skipped-figure notes."""
    blocks, skipped = [], []
    for figure in pending:
        if figure.outcome.result() is None:
            blocks.append("\n".join(figure.lines()[:-1]))
        else:
            skipped.append(figure.lines("- `{name}` skipped: {reason}.")[0])
    return blocks, skipped


def _configuration(meta: dict[str, Any]) -> list[str]:
    """The run's recorded configuration: command, commit, scenarios, models, versions."""
    if not meta:
        return ["_No configuration recorded (no results.sqlite next to the CSV)._"]
    lines = [f"- Command: `{meta.get('command', '?')}`",
             f"- Git commit: `{meta.get('git_commit', '?')}`",
             f"- Seeds: {_cell(meta.get('seeds', '?'), 'seeds')}", ""]
    scenarios = pd.DataFrame(meta.get("scenarios", []))
    if not scenarios.empty and "params" in scenarios:
        scenarios["params"] = scenarios["params"].map(
            lambda p: ", ".join(f"{k}={v}" for k, v in sorted(p.items())))
    models = pd.DataFrame(meta.get("models", []))
    versions = pd.DataFrame(sorted(meta.get("versions", {}).items()), columns=["package", "version"])
    for title, table in (("Scenarios", scenarios), ("Models", models), ("Versions", versions)):
        lines += [f"### {title}", "", markdown_table(table.astype(object)), ""]
    return lines


EXPERIMENTS_INTRO = (
    "Each section answers one question of the paper from this run's rows: the scenarios "
    "that carry its `experiment` tag (accuracy on the line reads every scenario with a shift), its "
    "figure, the findings stated by fixed rules from the numbers, and the tables behind them (also as "
    "CSV). Conventions: panel learners only in paradigm statistics (no oracles, no reference models, no "
    "test-set-adapted `+em` variants, fits flagged `chance_fit` or `singular_covariance` excluded); a "
    "paradigm's value on one seed is the mean over its learners, and differences are discriminative "
    "minus generative with a 95% t-interval over seeds (Welch's interval when the two sides are "
    "different scenarios); worst-group accuracy and the counterfactual flip rate are read at shift 0.5, "
    "where the four groups are equally common (a group's accuracy does not depend on the group shares); "
    "shift summaries use each scenario's largest n_train unless a section says otherwise.")


def _analyse(experiment: experiments.Experiment, frame: pd.DataFrame, meta: dict[str, Any],
             ) -> tuple[experiments.Section | experiments.Pending | None, pd.DataFrame]:
    """An experiment's analysis (its section, or its pending section) and the rows it read (None
    when the run has none of its scenarios)."""
    params = experiments.experiment_params(meta, experiment.tag)
    if experiment.tag is None:
        params = {s: params.get(s, {}) for s in frame["scenario"].unique()}
    rows = experiment.rows(usable(frame), params)
    return (None, rows) if rows.empty else (experiment.analyse(rows, params), rows)


def _nothing_to_read(experiment: experiments.Experiment) -> str:
    """Why an experiment has no rows: none of its tagged scenarios ran, or (an experiment of every
    scenario) none passes its selection, in the words of the selection's docstring."""
    if experiment.tag is not None:
        return f"no scenario of this run carries `experiment = \"{experiment.tag}\"`"
    kind = (experiment.select.__doc__ or "").split("\n\n")[0].strip().rstrip(".") if experiment.select else ""
    return f"this run has none of the rows it reads ({kind[:1].lower() + kind[1:]})" if kind \
        else "this run has none of the rows it reads"


@dataclass
class _Analysed:
    """One experiment analysed once: its result (a `Section` without claims, an
    `experiments.Pending` awaiting the correction, or None without rows), the rows it read and
    the claims its pending text makes."""

    experiment: experiments.Experiment
    result: experiments.Section | experiments.Pending | None
    rows: pd.DataFrame
    claims: list[claims.Claim]


def _experiment_lines(number: int, analysed: _Analysed, corrected: claims.Corrected, run_dir: Path,
                      drawer: Drawer) -> list[str | _PendingFigure]:
    """One experiment's section of `experiments.md` (its figures still being drawn); saves its
    table CSVs. A pending section is written now, from `corrected`."""
    experiment, rows = analysed.experiment, analysed.rows
    lines = [f"## {number}. {experiment.title}", "", f"*{experiment.question}*", ""]
    lines += [experiment.claim, ""] if experiment.claim else []
    section = None if analysed.result is None else experiments.written(analysed.result, corrected)
    if section is None:
        return [*lines, f"Skipped: {_nothing_to_read(experiment)}.", ""]
    lines += ["Scenarios: " + ", ".join(f"`{s}`" for s in scenario_order(rows)) + ".", ""]
    lines += [_PendingFigure(plan.name, plan.caption,
                             drawer.submit(plan.build, run_dir / FIGURES_DIR, plan.name))
              for plan in section.figures]
    lines += ["### Findings", "", *([f"- {b}" for b in section.bullets] or ["- None: too few results."]), ""]
    for name, title, table in section.tables:
        path = f"{TABLES_DIR}/exp_{name}.csv"
        table = rounded(table)
        table.to_csv(run_dir / path, index=False, float_format=FLOAT_FORMAT)
        lines += [f"#### {title}", "", f"CSV: `{path}`.", "", markdown_table(table), ""]
    return lines


def write_experiments(run_dir: Path, frame: pd.DataFrame, meta: dict[str, Any],
                      drawer: Drawer | None = None) -> Path:
    """Write `experiments.md` (with its figures and table CSVs) into `run_dir`, its claims
    corrected on their own; return its path."""
    if drawer is None:
        with Drawer() as drawer:
            return write_experiments(run_dir, frame, meta, drawer)
    analysed = _start_experiments(run_dir, frame, meta, drawer)
    corrected = claims.correct(c for a in analysed for c in a.claims)
    return _write_parts(run_dir / EXPERIMENTS_NAME, _experiments_parts(run_dir, analysed, corrected, drawer))


def _experiments_parts(run_dir: Path, analysed: list[_Analysed], corrected: claims.Corrected,
                       drawer: Drawer) -> list[str | _PendingFigure]:
    """experiments.md's lines, its figures still being drawn (saves the table CSVs)."""
    (run_dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
    parts: list[str | _PendingFigure] = [f"# Paper experiments: {run_dir.name}", "", EXPERIMENTS_INTRO, "",
                                         claims.correction_note(corrected), ""]
    for number, each in enumerate(analysed, start=1):
        parts += _experiment_lines(number, each, corrected, run_dir, drawer)
    return parts


def _write_parts(path: Path, parts: list[str | _PendingFigure]) -> Path:
    """Write a document once each of its figures is saved (or skipped)."""
    lines = [line for part in parts for line in ([part] if isinstance(part, str) else part.lines())]
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path


def seeds_line(frame: pd.DataFrame) -> list[str]:
    """Seeds per scenario, counted from the rows, and the warning that replaces interval claims
    when some scenario has fewer than `claims.MIN_CLUSTERS`."""
    counts = usable(frame).groupby("scenario")["seed"].nunique()
    spread = ", ".join(f"{n} seeds: {k} scenario(s)" for n, k in counts.value_counts().sort_index().items())
    lines = [f"Seeds per scenario (from the rows): {spread or 'none'}."]
    few = counts[counts < claims.MIN_CLUSTERS]
    if len(few):
        lines.append(f"**Warning**: {len(few)} scenario(s) have fewer than {claims.MIN_CLUSTERS} seeds "
                     f"({', '.join(f'`{s}`' for s in few.index)}); no interval over their seeds is called "
                     "clear, so read their numbers as descriptive only.")
    return lines


def _start_experiments(run_dir: Path, frame: pd.DataFrame, meta: dict[str, Any],
                       drawer: Drawer) -> list[_Analysed]:
    """Analyse every experiment once: a pending section's claims are collected as values by a dry
    run of its writer (`claims.Recorder`), and every figure starts drawing long before the
    documents are written. A figure drawn from the same builder again is not drawn again; one that
    reads the corrected decisions (so differs) is drawn again then (`Drawer.submit`)."""
    analysed = []
    for experiment in experiments.discover():
        result, rows = _analyse(experiment, frame, meta)
        recorder = claims.Recorder()
        section = result.write(recorder) if isinstance(result, experiments.Pending) else result
        for plan in section.figures if section is not None else []:
            drawer.submit(plan.build, run_dir / FIGURES_DIR, plan.name)
        analysed.append(_Analysed(experiment, result, rows, recorder.claims))
    return analysed


def _require_a_fit(run_dir: Path, frame: pd.DataFrame) -> None:
    """Refuse, before anything is written, a run without one successful fit: every table and
    figure would be empty. Says how many fits failed and quotes the first error."""
    if frame.empty:
        raise NothingToReport(f"{run_dir}: holds no result rows; nothing to report (run "
                              "`spurbench run` into it first)")
    if not usable(frame).empty:
        return
    errors = frame["error"].dropna().astype(str)
    first = errors.iloc[0].splitlines()[0][:200] if len(errors) else "no message stored"
    fits = frame["fit_key"].nunique()
    raise NothingToReport(f"{run_dir}: every fit failed ({fits} of {fits} stored as errors; the "
                          f"first: {first}); nothing to report. Fix the cause, then rerun with "
                          "`spurbench run --resume --retry-errors`")


def write_report(run_dir: Path, pdf: bool = False) -> Path:
    """Write figures (PNG; with `pdf`, PDF too), CSV tables, `report.md` and `experiments.md`
    into `run_dir`; return the report path.

    Each experiment is analysed once and every figure started; the claims of both documents,
    held as values, are Holm-corrected once (each level on its own, see `claims`); then the
    documents are written from the corrected decisions. Linear algebra
    runs on one thread throughout (`reproducible`): the same rows give the same bytes whatever
    the machine's cores, thread settings or load.
    """
    with single_threaded():
        return _write_report(Path(run_dir), pdf)


def _write_report(run_dir: Path, pdf: bool) -> Path:
    meta = read_meta(run_dir)
    rows = conditions.with_recorded_traits(with_recorded_tags(read_results(run_dir), meta), meta)
    rows = mechanisms.with_mechanism(rows, meta)
    frame = fixed(rows)  # every model at its defaults; the selection experiment reads all rows
    _require_a_fit(run_dir, frame)
    # Figures are drawn on workers while the tables and claims are computed.
    with Drawer(formats=style.PAPER_FORMATS if pdf else style.REPORT_FORMATS) as drawer:
        pending = _submit_gallery(drawer, frame, run_dir / FIGURES_DIR)
        analysed = _start_experiments(run_dir, rows, meta, drawer)
        built = build_tables(frame)
        n_fits = rows["fit_key"].nunique()  # a fit's variants (`+em`, ...) share its key
        # Every claim is a value (report.md's, read off the effects table; the experiments',
        # collected by their dry runs): corrected once, each level on its own, judged only then.
        effects = next(t.frame for t in built if t.name == "effects")
        made = [*(c for a in analysed for c in a.claims), *findings.effect_claims(effects)]
        corrected = claims.correct(made)
        # experiments.md is written last: its figures were started last, and report.md's
        # tables and pages are made while they are drawn.
        parts = _experiments_parts(run_dir, analysed, corrected, drawer)
        path = _write_documents(run_dir, rows, meta, built, corrected, n_fits, pending)
        _write_parts(run_dir / EXPERIMENTS_NAME, parts)
        return path


def _summary(frame: pd.DataFrame, shown: list[str], by_name: dict[str, pd.DataFrame]) -> list[str]:
    """The one-screen opening: the question, the primary answer (the first block of `shown`, the
    paradigm contrast, so that no claim is asked twice), where each paradigm wins, and the figure."""
    block = shown[1:next((i for i, line in enumerate(shown[1:], 1) if line.startswith("- **")), len(shown))]
    return ["## Summary", "",
            "*When the spurious correlations of the training data stop holding, do generative classifiers "
            "degrade more or less than discriminative ones, and under which conditions?*", "",
            prepare.suite_note(frame), "",
            "**Answer** (primary claims: discriminative minus generative, panel fits; a difference is "
            "clear only after the primary level's Holm correction over its three metrics):", "",
            *[line.removeprefix("  ") for line in block
              if "sensitivity" not in line and "best of each side" not in line], "",
            *_mechanism_lines(by_name["by_mechanism"], (analysis.PARADIGM,)),
            "**Where each paradigm wins** (exploratory):", "",
            *conditions.sentences(by_name["conditions_by_source"], by_name["meta_regression"]), "",
            *(["![Where each paradigm wins](figures/conditions.png)", ""]
              if not by_name["conditions"].empty else []),
            "Details: [design](#design), [all claims](#what-this-run-shows), [figures](#figures), "
            "[tables](#tables), [leaderboard](#leaderboard); the paper experiments are in "
            f"[{EXPERIMENTS_NAME}]({EXPERIMENTS_NAME})."]


def _mechanism_lines(table: pd.DataFrame, contrasts: tuple[analysis.Contrast, ...]) -> list[str]:
    """The estimates of `contrasts` by mechanism, as a compact table with its legend (none
    without a recorded mechanism)."""
    wide = mechanisms.compact(table, contrasts)
    if wide.empty:
        return []
    wide = wide.drop(columns="contrast") if len(contrasts) == 1 else wide
    return ["**By mechanism**: " + mechanisms.LEGEND, "", markdown_table(wide), ""]


def _write_documents(run_dir: Path, rows: pd.DataFrame, meta: dict[str, Any], built: list[Table],
                     corrected: claims.Corrected, n_fits: int, pending: list[_PendingFigure]) -> Path:
    """Second pass, after experiments.md: tables, figures and report.md, with the adjusted
    decisions."""
    frame = fixed(rows)
    (run_dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
    for table in built:
        table.frame.to_csv(run_dir / TABLES_DIR / f"{table.name}.csv", index=False, float_format=FLOAT_FORMAT)
    ok = usable(frame)
    by_name = {t.name: t.frame for t in built}
    shown = findings.summary(by_name, n_fits, set(prepare.panel(ok)["model"]), corrected)
    summary = _summary(frame, shown, by_name)
    lines = [f"# spurbench report: {run_dir.name}", "", *summary, "",
             "## Design", "", *findings.preregistration(), "",
             f"{len(frame)} result rows ({len(ok)} ok) over {frame['scenario'].nunique()} scenarios, "
             f"{frame['model'].nunique()} models and n_train in "
             f"{sorted(frame['n_train'].unique().tolist())}. Shift summaries use each scenario's "
             "largest n_train; sign convention: discriminative minus generative.", "", *seeds_line(frame), "",
             f"The paper experiments of this run are in [{EXPERIMENTS_NAME}]({EXPERIMENTS_NAME}).", "",
             "## What this run shows", "", claims.correction_note(corrected), "",
             *shown, "", *_mechanism_lines(by_name["by_mechanism"], mechanisms.CONTRASTS),
             "## Figures", ""]
    tail = ["", "## Tables", ""]
    for table in built:
        body = markdown_table(table.frame)
        if table.folded:
            body = f"<details><summary>show table</summary>\n\n{body}\n\n</details>"
        tail += [f"### {table.title}", "", f"{table.explanation} CSV: `{TABLES_DIR}/{table.name}.csv`.",
                  "", body, ""]
    ranked = as_ranked(frame)  # the page's curves and table name `+em` variants as the leaderboard does
    tail += ["## Leaderboard", "", to_markdown(leaderboard(frame)), "",
             f"Sortable and filterable, with curves: [{HTML_NAME}]"
             f"({write_html(ranked, run_dir, summary).name}).", ""]
    tail += ["## Run configuration", "", *_configuration(meta)]
    blocks, skipped = _render_figures(pending)
    lines += [*[b + "\n" for b in blocks], *skipped, *tail]
    path = run_dir / REPORT_NAME
    path.write_text("\n".join(lines).rstrip() + "\n")
    return path
