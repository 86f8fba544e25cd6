"""The harness: expand the grid, skip what is stored, run the rest in parallel, store each fit.

Grid = scenarios x models x seeds x n_train; each cell is one `FitTask` (see fitting.py), scored
at every shift level of its scenario. Fits run in this process, on worker processes or on a Dask
cluster (execution.py); results stream back in completion order to the single writer in this
process, which commits each fit's rows in one transaction.
"""

from __future__ import annotations

import contextlib
import platform
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from spurbench import __version__
from spurbench.errors import SpecError, SpurbenchError
from spurbench.evaluation.selection import protocol_rows
from spurbench.harness.execution import dask_client, execute, signals_interrupt
from spurbench.harness.fitting import FitTask
from spurbench.harness.spec import MAX_SEEDS, Scenario
from spurbench.harness.store import ResultStore
from spurbench.registry import ModelEntry, get_generator, get_model, list_models
from tqdm.auto import tqdm

BACKENDS = ("loky", "dask")
MAX_TIMEOUT = 7 * 24 * 3600.0  # a week: longer is a typo, and would overflow the alarm timer
DEPENDENCIES = ("numpy", "pandas", "scikit-learn", "statsmodels", "seaborn", "matplotlib",
                "joblib", "tqdm", "scipy")


@dataclass
class RunSummary:
    """What a run did, for the closing paragraph and for tests."""

    out_dir: Path
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    wall_seconds: float = 0.0
    model_seconds: Counter = field(default_factory=Counter)

    def __str__(self) -> str:
        slowest = ", ".join(f"{m} {s:.1f} s" for m, s in self.model_seconds.most_common(3))
        return (f"{self.total} fits in the grid: {self.done} run, {self.skipped} skipped "
                f"(already stored), {self.failed} failed; wall time {self.wall_seconds:.1f} s. "
                f"Slowest models (total fit time): {slowest or 'none'}. "
                f"Results in {self.out_dir}.")


ModelRef = str | ModelEntry


def resolve_models(requested: Sequence[ModelRef]) -> list[ModelEntry]:
    """Entries for names, `pkg.mod:factory` references and `ModelEntry` objects alike."""
    return [m if isinstance(m, ModelEntry) else get_model(m) for m in requested]


def _requested_by_spec(scenario: Scenario, requested: Sequence[ModelRef] | None) -> list[ModelEntry]:
    """The request (default: all registered), narrowed by the spec's own `run.models`."""
    entries = list_models() if requested is None else resolve_models(requested)
    if scenario.models is not None:
        from spurbench.models import unavailable_models

        absent = unavailable_models()  # named by the spec, but their extra is not installed
        try:
            allowed = {get_model(name).name for name in scenario.models if name not in absent}
        except SpurbenchError as exc:
            raise SpecError(scenario.path, "run.models", str(exc)) from None
        entries = [e for e in entries if e.name in allowed]
    return entries


def models_for(scenario: Scenario, requested: Sequence[ModelRef] | None) -> list[ModelEntry]:
    """The models a scenario runs: the request (default: all registered), narrowed by the spec's
    own `run.models`; oracles only where the family knows its posterior."""
    entries = _requested_by_spec(scenario, requested)
    knows = get_generator(scenario.family).knows_posterior()
    named = set(scenario.models or ()) | set(requested or ())
    # Opt-in models answer one experiment's question (what group labels buy, imputation versus
    # marginalising): they run only where a spec or the command line names them.
    return [e for e in entries if (e.paradigm != "oracle" or knows)
            and ("opt_in" not in e.tags or e.name in named)]


def why_no_models(scenario: Scenario, requested: Sequence[ModelRef] | None) -> str:
    """Why `models_for(scenario, requested)` is empty, in words naming the spec's file and fields."""
    where = scenario.path or f"scenario {scenario.name!r}"
    entries = _requested_by_spec(scenario, requested)
    if not entries and scenario.models is not None:
        from spurbench.models import unavailable_models

        named = [m for m in scenario.models if m not in unavailable_models()]
        if not named:
            return (f"{where}: run.models names only {list(scenario.models)}, whose optional "
                    "extra is not installed (see `spurbench list models`)")
        asked = sorted(e.name for e in resolve_models(requested or ()))
        return f"{where}: run.models {named} and the requested models {asked} have none in common"
    oracles = sorted(e.name for e in entries if e.paradigm == "oracle")
    opt_in = sorted(e.name for e in entries if "opt_in" in e.tags and e.paradigm != "oracle")
    parts = [f"{oracles} are oracles, which family {scenario.family!r} cannot run (its posterior "
             "is unknown)"] if oracles else []
    parts += [f"{opt_in} are opt-in models, run only where run.models or --models names them"
              ] if opt_in else []
    return f"{where}: of its models, {' and '.join(parts) or 'none remains'}"


def _empty_grid(scenarios: Sequence[Scenario], requested: Sequence[ModelRef] | None) -> SpurbenchError:
    """The one-line error of a grid without fits, naming each scenario file and why."""
    if not scenarios:
        return SpurbenchError("the grid is empty: no scenario was given")
    reasons = [why_no_models(s, requested) for s in scenarios[:3]]
    more = f"; and {len(scenarios) - 3} more scenarios" if len(scenarios) > 3 else ""
    return SpurbenchError(f"the grid is empty: {'; '.join(reasons)}{more}")


def expand_grid(scenarios: Sequence[Scenario], models: Sequence[ModelRef] | None = None, *,
                seeds: int | None = None, run_seed: int = 0,
                timeout: float | None = None) -> list[FitTask]:
    """Every fit of the run, in a fixed order (the order does not affect any number).

    Each task carries its model's entry, so workers never look a model up by name.
    """
    if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
        raise SpurbenchError(f"--seeds: must be an integer from 1 to {MAX_SEEDS}, got {seeds}")
    searched: dict[str, list] = {}  # model name -> its configurations, checked once per grid
    return [FitTask(scenario, entry, seed, n_train, run_seed, timeout, config)
            for scenario in scenarios
            for entry in models_for(scenario, models)
            for config in [(), *(_configurations(entry, searched) if scenario.searches(entry.name) else ())]
            for n_train in scenario.n_train
            for seed in range(seeds if seeds is not None else scenario.seeds)]


def _configurations(entry: ModelEntry, cache: dict[str, list]) -> list:
    """The points of `entry`'s search space other than its defaults (the `fixed` fit already
    runs those); a parameter its estimator does not have is refused with one line."""
    if entry.name not in cache:
        cache[entry.name] = []
        if entry.search_space:
            try:
                params = entry.build(0).get_params(deep=True)
            except Exception:  # an unbuildable factory: its fits fail as error rows
                return cache[entry.name]
            unknown = [p for p, _ in entry.search_space if p not in params]
            if unknown:
                raise SpurbenchError(f"model {entry.name!r}: search_space names {unknown}, which "
                                     f"its estimator does not have; it has {sorted(params)}")
            defaults = {p: params[p] for p, _ in entry.search_space}
            cache[entry.name] = [c for c in entry.configurations() if dict(c) != defaults]
    return cache[entry.name]


def environment() -> dict[str, Any]:
    """Versions of Python and every dependency, and the git commit, for the report."""
    versions = {"python": platform.python_version(), "spurbench": __version__}
    for dist in DEPENDENCIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {"versions": versions, "git_commit": commit}


def _traits(scenario: Scenario) -> dict[str, Any]:
    """The scenario's declared traits and its number of features (from a two-row draw), which the
    report's analysis of where each paradigm wins reads."""
    generator = scenario.generator()
    sample = generator.sample(2, 0.0, np.random.default_rng(0), split="train")
    return {"source": generator.source, "discrete": generator.discrete, "n_features": sample.X.shape[1]}


def _meta(scenarios: Sequence[Scenario], tasks: Sequence[FitTask], run_seed: int) -> dict:
    entries = {t.model: t.entry for t in tasks}
    env = environment()
    # Every package that computed a stored number (torch when the neural pair ran), as the fit
    # keys hold them, beside the dependencies `environment` always lists.
    computing = {d: v for t in tasks for d, v in t.code.versions.items()}
    env["versions"] |= {d: computing[d] for d in sorted(computing) if d not in env["versions"]}
    return {
        "scenarios": [{"name": s.name, "family": s.data_family, "generator": s.family,
                       "description": s.description,
                       "experiment": s.experiment, "headline": s.headline, **_traits(s),
                       "params": s.params, "levels": list(s.shift_levels),
                       "n_train": list(s.n_train), "n_test": s.n_test, "seeds": s.seeds,
                       "path": str(s.path),
                       **({"data": data} if (data := s.generator().provenance()) else {})}
                      for s in scenarios],
        "models": [{"name": e.name, "paradigm": e.paradigm, "group": e.group,
                    "tags": sorted(e.tags), "description": e.description, "origin": e.origin}
                   for _, e in sorted(entries.items())],
        "seeds": sorted({t.seed for t in tasks}),
        "run_seed": run_seed,
        "command": " ".join(["spurbench", *sys.argv[1:]]),
        **env,
    }


def _check_options(jobs: int, backend: str, scheduler: str | None, timeout: float | None,
                   resume: bool, retry_errors: bool) -> None:
    """Refuse bad options with one line naming the flag, before anything is opened."""
    if timeout is not None and not 0 < timeout <= MAX_TIMEOUT:
        raise SpurbenchError(f"--timeout: must be a number of seconds in (0, {MAX_TIMEOUT}], "
                             f"got {timeout}")
    if jobs == 0:
        raise SpurbenchError("--jobs: must be a positive integer, or negative (-1 = all cores)")
    if backend not in BACKENDS:
        raise SpurbenchError(f"--backend: {backend!r} is not allowed; use one of {BACKENDS}")
    if scheduler is not None and backend != "dask":
        raise SpurbenchError("--scheduler: only applies with --backend dask")
    if retry_errors and not resume:
        raise SpurbenchError("--retry-errors: only applies with --resume")


def _store_protocols(store: ResultStore, scenarios: Sequence[Scenario]) -> None:
    """Rebuild the selection protocols' rows of the scenarios that ask for them, from every
    stored fit (resumed ones included), so they are the same however the run was split."""
    selecting = [s.name for s in scenarios if s.selection]
    if selecting:
        store.write_selected(protocol_rows(store.frame(selecting)).to_dict("records"))


def _stop_progress_monitor() -> None:
    """Stop the thread tqdm starts beside a progress bar, which outlives the bar: a process with
    another thread running cannot fork safely, so a report drawn next in this process (`spurbench
    run` without `--no-report`, a notebook) would start its figure workers as fresh processes
    that import the plotting stack again. tqdm starts a new one with its next bar."""
    if tqdm.monitor is not None:
        tqdm.monitor.exit()


def run(scenarios: Sequence[Scenario], models: Sequence[str] | None = None, *,
        out_dir: str | Path = "results/latest", seeds: int | None = None, jobs: int = -1,
        backend: str = "loky", scheduler: str | None = None, resume: bool = False,
        overwrite: bool = False, timeout: float | None = None, run_seed: int = 0,
        progress: bool = True, retry_errors: bool = False) -> RunSummary:
    """Run the grid and store its rows in `out_dir`; see the module docstring.

    Everything the user can get wrong is checked (and a Dask cluster connected) before the store
    is opened, so a bad input never touches stored results. Without `resume` or `overwrite`, a
    directory that already holds results is refused; `retry_errors` (with `resume`) reruns the
    fits stored as errors. The exports of an earlier run are removed before any fit runs, so an
    interrupted run never leaves another run's CSV behind.
    """
    start = time.perf_counter()
    _check_options(jobs, backend, scheduler, timeout, resume, retry_errors)
    tasks = expand_grid(scenarios, models, seeds=seeds, run_seed=run_seed, timeout=timeout)
    if not tasks:
        raise _empty_grid(scenarios, models)
    keys = [task.key for task in tasks]  # cached on the task, which carries it to the worker
    summary = RunSummary(Path(out_dir), len(tasks))
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(dask_client(jobs, scheduler)) if backend == "dask" else None
        store = stack.enter_context(ResultStore(out_dir))
        if store.has_results() and not (resume or overwrite):
            raise SpurbenchError(f"{out_dir}: already holds results; pass --resume to finish or "
                                 "extend them, or --overwrite to start afresh")
        if overwrite:
            store.clear()
        store.set_manifest(keys, _meta(scenarios, tasks, run_seed))
        done = store.completed_keys(include_errors=not retry_errors) if resume else set()
        pending = [t for t, k in zip(tasks, keys, strict=True) if k not in done]
        summary.skipped = len(tasks) - len(pending)
        stack.enter_context(signals_interrupt())
        results = stack.enter_context(contextlib.closing(execute(pending, jobs, timeout, client)))
        for result in tqdm(results, total=len(pending), desc="fits", unit="fit",
                           disable=not progress, dynamic_ncols=True):
            store.write_fit(result.key, result.rows)
            summary.done += 1
            summary.failed += result.failed
            summary.model_seconds[result.rows[0]["model"]] += result.seconds
        _stop_progress_monitor()
        _store_protocols(store, scenarios)
        store.export()
    summary.wall_seconds = time.perf_counter() - start
    return summary
