"""The `spurbench` command line; `spurbench --help` lists every subcommand.

User errors (`SpurbenchError`) are caught here once: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import ast
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from spurbench import __version__
from spurbench.errors import Interrupted, SpurbenchError
from spurbench.registry import get_model, list_generators, list_models, load_model_reference

DEFAULT_OUT = Path("results/latest")
PDF_HELP = ("also save every figure as PDF (vector, paper-ready; about twice the figure time); "
            "report.md and report.html show the PNG files")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; keep its message to one line plus usage."""


def _checked(parse: Callable[[str], float], expected: str, accept: Callable[[float], bool],
             refusal: str) -> Callable[[str], float]:
    """An argparse `type`: `parse` the text (else "expected <expected>"), then refuse a value
    `accept` rejects with `refusal` (formatted with the text)."""
    def convert(text: str) -> float:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(refusal.format(text=text))
        return value
    return convert


_positive_int = _checked(int, "a positive integer", lambda v: v >= 1,
                         "expected a positive integer, got {text!r}")
_jobs = _checked(int, "an integer", lambda v: v != 0, "0 is not allowed: use N >= 1, or -1 for all cores")
_positive_float = _checked(float, "a number of seconds", lambda v: v > 0,
                           "expected a positive number of seconds, got {text!r}")


def _model_names(args: argparse.Namespace) -> list[str] | None:
    """Models from --models a,b and --model package.module:factory, validated: each is built
    once here, so a factory that raises or builds no classifier is refused before anything runs."""
    from spurbench.interface.check import built_classifier

    names = [n.strip() for n in (args.models or "").split(",") if n.strip()]
    if args.models is not None and not names:
        raise SpurbenchError(f"--models: {args.models!r} names no model; give comma-separated "
                             "names, or omit --models to run every registered one")
    for name in names:
        built_classifier(get_model(name), f"--models {name!r}")
    for ref in args.model or []:
        entry = load_model_reference(ref, args.paradigm)
        built_classifier(entry, f"--model {ref!r}")
        names.append(entry.name)
    return names or None


def _cmd_run(args: argparse.Namespace) -> int:
    from spurbench.harness import grid
    from spurbench.harness.spec import load_scenarios, one_per_family
    from spurbench.harness.store import record_timing

    scenarios = load_scenarios(args.specs)
    if args.headline:
        scenarios = [s for s in scenarios if s.headline]
        if not scenarios:
            raise SpurbenchError("--headline: none of the scenarios named holds `headline = true`; "
                                 "the suite is listed in datasets/README.md")
    if args.quick:
        scenarios = [s.quick() for s in (scenarios if args.specs else one_per_family(scenarios))]
    if args.largest_n:
        scenarios = [replace(s, n_train=(max(s.n_train),)) for s in scenarios]
    backend = _backend_choice(args)
    summary = grid.run(
        scenarios, _model_names(args), out_dir=args.out, seeds=args.seeds, jobs=args.jobs,
        backend=backend, scheduler=args.scheduler, resume=args.resume,
        overwrite=args.overwrite, timeout=args.timeout, run_seed=args.run_seed,
        progress=not args.no_progress, retry_errors=args.retry_errors)
    print(summary)
    start = time.perf_counter()
    _print_leaderboard(args.out)
    if not args.no_report:
        _write_and_print_report(Path(args.out), args.pdf)
    # How long this took, in run.json (`make perf` reads the paper run's): everything after the
    # fits (leaderboard, report) is the report's time.
    record_timing(args.out, {"fits_seconds": summary.wall_seconds, "fits_run": summary.done,
                             "fits_stored_already": summary.skipped,
                             "report_seconds": None if args.no_report else time.perf_counter() - start,
                             "jobs": args.jobs, "cpus": os.cpu_count()})
    return 0


def _write_and_print_report(run_dir: Path, pdf: bool) -> None:
    """Write the report, then end on the answer: the headline in a few lines and where to read more."""
    report_md = _report_writer()(run_dir, pdf=pdf)
    from spurbench.report.findings import headline
    from spurbench.report.html import HTML_NAME

    print("\n" + "\n".join(headline(report_md)))
    print(f"report: {report_md.with_name(HTML_NAME)} (and {report_md.name} beside it)")


def _report_writer() -> Callable[..., Path]:
    """`write_report`, imported with the garbage collector paused: the plotting and statistics
    stack makes about a million objects that live as long as the process, and the collector's
    passes over them while they were made (freeing nothing) took a tenth of the import."""
    gc.disable()
    try:
        from spurbench.report.render import write_report
    finally:
        gc.enable()
    return write_report


def _backend_choice(args: argparse.Namespace) -> str:
    """`--scheduler` implies `--backend dask`; naming loky with a scheduler is a contradiction."""
    if args.scheduler and args.backend == "loky":
        raise SpurbenchError("--scheduler needs the dask backend; drop --backend loky")
    return "dask" if args.scheduler else args.backend or "loky"


def _print_leaderboard(run_dir: Path, markdown: bool = False) -> None:
    """The run's leaderboard, so the first thing a user sees after a run is who won."""
    from spurbench.harness.store import read_meta, read_results
    from spurbench.report.leaderboard import leaderboard, to_markdown, to_text
    from spurbench.report.prepare import with_recorded_tags

    # the run's own record of its models' tags (as the report reads them), not the registry's
    board = leaderboard(with_recorded_tags(read_results(run_dir), read_meta(run_dir)))
    if board.empty:
        print("\nleaderboard: nothing to rank (no successful fit of a scenario with shift levels)")
        return
    if markdown:
        print(to_markdown(board))
        return
    print("\nleaderboard (means ± 95% t interval over families; `spurbench leaderboard --help` "
          "defines the columns):")
    print(to_text(board))


def _module_doc(relative: str) -> str:
    """The docstring of the package's module at `relative` (a path under the package's folder),
    without importing it (and pandas with it): `--help` stays instant, and the text is written
    once, in the module."""
    return ast.get_docstring(ast.parse((Path(__file__).parent.parent / relative).read_text())) or ""


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    _print_leaderboard(Path(args.run_dir), args.markdown)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    _write_and_print_report(Path(args.run_dir), args.pdf)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    if args.what == "models":
        rows = [(e.name, e.paradigm, ",".join(sorted(e.tags)) or "-", e.description)
                for e in list_models()]
        header = ("name", "paradigm", "tags", "description")
    elif args.what == "generators":
        rows = list(list_generators().items())
        header = ("family", "description")
    else:
        from spurbench.harness.spec import load_scenarios

        rows = [(s.name, s.family, s.description) for s in load_scenarios()]
        header = ("scenario", "family", "description")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row, widths, strict=False)]
        print("  ".join([*cells, str(row[-1])]))
    if args.what == "models":
        from spurbench.models import missing_extras

        for hint in missing_extras():
            print(f"not installed: {hint}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    """Every file named, each with all its problems (one line each), or its grid size."""
    from spurbench.errors import SpecErrors
    from spurbench.harness.grid import expand_grid, why_no_models
    from spurbench.harness.spec import load_scenario, load_scenarios, scenario_paths

    failed = False
    for path in scenario_paths(args.specs):
        try:
            scenario = load_scenario(path)
        except SpecErrors as exc:
            failed = True
            for error in exc.errors:
                print(f"spurbench: error: {error}", file=sys.stderr)
            continue
        fits = len(expand_grid([scenario]))
        if not fits:
            failed = True
            print(f"spurbench: error: {why_no_models(scenario, None)}; it runs no fit", file=sys.stderr)
            continue
        print(f"ok  {scenario.path}: {scenario.name} ({scenario.family}), {fits} fits x "
              f"{len(scenario.shift_levels)} shift levels")
    if not failed:
        load_scenarios(args.specs)  # names must be unique across the files
    return 2 if failed else 0


def _scenario(name: str):
    from spurbench.harness.spec import load_scenarios

    return load_scenarios([name])[0]


def _cmd_sample(args: argparse.Namespace) -> int:
    from spurbench.interface.inspection import sample_examples

    get_model(args.model)
    for path in sample_examples(args.model, _scenario(args.scenario), args.n, args.out, args.seed):
        print(f"written {path}")
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from spurbench.interface.inspection import explain

    get_model(args.model)
    table, by_role = explain(args.model, _scenario(args.scenario), args.seed)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("share by role (block permutation, as stored by runs): "
          + ", ".join(f"{role} {share:.1%}" for role, share in by_role.items()))
    return 0


def _cmd_check_model(args: argparse.Namespace) -> int:
    from spurbench.interface.api import check_model

    result = check_model(args.ref, paradigm=args.paradigm)
    print(result)
    return 0 if result.passed else 1


def _add_check_model(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check-model", help="run a model through the estimator contract and a "
                           "tiny grid; exit 1 if a rule fails")
    check.add_argument("ref", help="a registered name or package.module:factory")
    check.add_argument("--paradigm", choices=("generative", "discriminative"),
                       help="paradigm of a factory that does not declare one")
    check.set_defaults(func=_cmd_check_model)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spurbench")
    parser.add_argument("--version", action="version", version=f"spurbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run scenarios x models x seeds x n_train and write a report")
    run.add_argument("specs", nargs="*", help="scenario files, folders or names (default: datasets/)")
    run.add_argument("--models", help="comma-separated model names (default: every registered one)")
    run.add_argument("--model", action="append", metavar="MODULE:FACTORY",
                     help="add a model from importable code, e.g. mypkg.models:make_clf")
    run.add_argument("--paradigm", choices=("generative", "discriminative"),
                     help="paradigm of --model factories that do not declare one")
    run.add_argument("--seeds", type=_positive_int, help="seeds per cell (default: each spec's)")
    run.add_argument("--headline", action="store_true",
                     help="only the declared headline suite (specs with `headline = true`)")
    run.add_argument("--largest-n", action="store_true",
                     help="only each scenario's largest training size (what shift summaries read)")
    run.add_argument("--jobs", type=_jobs, default=-1, help="parallel workers (-1: all cores)")
    run.add_argument("--backend", choices=("loky", "dask"), help="loky processes (default) or Dask")
    run.add_argument("--scheduler", help="address of a running Dask scheduler (implies --backend dask)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"run directory (default {DEFAULT_OUT})")
    run.add_argument("--quick", action="store_true", help="a small grid: three shift levels, the "
                     "smallest n_train, at most 1000 test points and 2 seeds (with no SPEC: one "
                     "scenario per family)")
    run.add_argument("--resume", action="store_true", help="skip fits already stored in --out")
    run.add_argument("--overwrite", action="store_true", help="discard results stored in --out")
    run.add_argument("--retry-errors", action="store_true", help="with --resume, also rerun the "
                     "fits stored as errors (e.g. with a larger --timeout)")
    run.add_argument("--timeout", type=_positive_float, help="seconds a fit may take before it "
                     "is recorded as an error")
    run.add_argument("--run-seed", type=int, default=0, help="root of every random stream")
    run.add_argument("--no-report", action="store_true", help="store results only")
    run.add_argument("--pdf", action="store_true", help=PDF_HELP)
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.set_defaults(func=_cmd_run)

    report = sub.add_parser("report", help="figures, tables and analysis from a run's stored rows")
    report.add_argument("run_dir", help="a run directory, e.g. results/latest")
    report.add_argument("--pdf", action="store_true", help=PDF_HELP)
    report.set_defaults(func=_cmd_report)

    board = sub.add_parser("leaderboard", help="per-model summary of a run's stored rows",
                           description=_module_doc("report/leaderboard.py"),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    board.add_argument("run_dir", help="a run directory, e.g. results/paper")
    board.add_argument("--markdown", action="store_true", help="a Markdown table (for README.md)")
    board.set_defaults(func=_cmd_leaderboard)

    lister = sub.add_parser("list", help="list models, generator families or scenarios")
    lister.add_argument("what", choices=("models", "generators", "scenarios"))
    lister.set_defaults(func=_cmd_list)

    sample = sub.add_parser("sample", help="fit a generative model and draw examples of each class")
    sample.add_argument("model", help="a model tagged `sample` (see `spurbench list models`)")
    sample.add_argument("--scenario", required=True, help="scenario name or file")
    sample.add_argument("--n", type=_positive_int, default=16, help="examples per class (16)")
    sample.add_argument("--seed", type=int, default=0, help="which seed's training sample (0)")
    sample.add_argument("--out", type=Path, default=Path("results/samples"),
                        help="output folder (results/samples)")
    sample.set_defaults(func=_cmd_sample)

    explain = sub.add_parser("explain", help="importance of each feature, with its role")
    explain.add_argument("model", help="a model name (see `spurbench list models`)")
    explain.add_argument("--scenario", required=True, help="scenario name or file")
    explain.add_argument("--seed", type=int, default=0, help="which seed's training sample (0)")
    explain.set_defaults(func=_cmd_explain)

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("specs", nargs="+", help="scenario files or folders")
    validate.set_defaults(func=_cmd_validate)
    _add_check_model(sub)
    # built from the subparsers, so the description cannot omit one added later
    parser.description = f"spurbench command line: {' | '.join(sub.choices)}."
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SpurbenchError as exc:
        print(f"spurbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print("spurbench: interrupted; stored fits are kept (rerun with --resume)", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)


if __name__ == "__main__":
    sys.exit(main())
