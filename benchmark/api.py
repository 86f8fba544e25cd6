"""The Python API, imported as `spurbench`: run, model, load, scenarios, draw, compare.

Thin on purpose: every function goes through the same harness, store and seeds as the command
line, so a notebook's numbers equal a `spurbench run`'s for the same inputs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmark import harness
from benchmark.check import built_classifier
from benchmark.fitting import split_stream, test_stream, train_stream
from benchmark.leaderboard import leaderboard
from benchmark.models import unavailable_models
from benchmark.registry import PANEL, ModelEntry, load_model_reference, make_model
from benchmark.spec import Scenario, load_scenarios, one_per_family
from benchmark.store import PARQUET_NAME, read_results, typed

ScenarioRef = str | Path | Scenario


def scenarios(targets: Iterable[ScenarioRef] | ScenarioRef | None = None) -> list[Scenario]:
    """Load scenarios: names of shipped ones, TOML paths, folders, or `Scenario` objects.

    Parameters
    ----------
    targets : str, Path, Scenario or a sequence of them; None for every shipped scenario.

    Returns
    -------
    list of Scenario
    """
    if targets is None:
        return load_scenarios()
    if isinstance(targets, str | Path | Scenario):
        targets = [targets]
    return [t if isinstance(t, Scenario) else load_scenarios([t])[0] for t in targets]


def _grid_scenarios(targets: Any, quick: bool) -> list[Scenario]:
    chosen = scenarios(targets)
    if quick:
        chosen = [s.quick() for s in (one_per_family(chosen) if targets is None else chosen)]
    return chosen


def model(estimator_or_factory: Any, *, paradigm: str, name: str | None = None,
          tags: Iterable[str] = (), group: str | None = None) -> ModelEntry:
    """Wrap an unfitted scikit-learn estimator or a factory `f(random_state)` as a model.

    An estimator is cloned for every fit (`sklearn.base.clone`), with its `random_state`
    parameters set from the fit's seed; the returned entry travels with each fit, so it works
    with any number of jobs and on Dask, even when defined in a notebook.

    Parameters
    ----------
    estimator_or_factory : an unfitted estimator, a callable taking `random_state`, or a
        ``"pkg.mod:factory"`` reference (then named after the reference).
    paradigm : {"generative", "discriminative"}
    name : str, optional
        Name in the results (default: the factory's or estimator class's name).
    tags : capabilities (`prior_shift`, `missing`, `sample`, ...).
    group : one of `benchmark.registry.GROUPS` matching the paradigm.

    Returns
    -------
    ModelEntry
        Pass it to `run` or `compare` in `models`.
    """
    if isinstance(estimator_or_factory, str):
        return load_model_reference(estimator_or_factory, paradigm)
    return make_model(estimator_or_factory, paradigm=paradigm, name=name, tags=tags, group=group)


def load(path: str | Path) -> pd.DataFrame:
    """The result rows of a run directory, with their declared column types.

    Reads `results.parquet` when the run exported it, else the CSV or SQLite store.
    """
    parquet = Path(path) / PARQUET_NAME
    return pd.read_parquet(parquet) if parquet.exists() else typed(read_results(path))


def run(scenarios: Any = None, models: Sequence[str | ModelEntry] | None = None, *,
        seeds: int | None = None, jobs: int = -1, out: str | Path | None = None,
        quick: bool = False, backend: str = "loky", scheduler: str | None = None,
        resume: bool = False, overwrite: bool = False, timeout: float | None = None,
        progress: bool = False) -> pd.DataFrame:
    """Run scenarios x models x seeds x n_train and return the stored rows.

    Parameters
    ----------
    scenarios : names, paths or `Scenario` objects; None for every shipped scenario (with
        `quick`, one per generator family).
    models : registered names, ``"pkg.mod:factory"`` references or `model(...)` entries;
        None for every registered model. Each is built once first: a factory that raises, or
        returns no classifier, raises `benchmark.errors.ModelError` naming it.
    seeds : seeds per cell (default: each scenario's).
    jobs : parallel workers; -1 uses every core.
    out : run directory; None runs in a temporary directory that is removed afterwards.
    quick : the small grid of `spurbench run --quick`.
    backend, scheduler : "loky" or "dask", and a Dask scheduler address (implies "dask").
    resume, overwrite : what to do with results already in `out`.
    timeout : seconds a fit may take before it is stored as an error row.
    progress : show a progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per (scenario, shift, model, seed, n_train), as `spurbench.load` reads them.
    """
    chosen = _grid_scenarios(scenarios, quick)
    for entry in harness.resolve_models(models or ()):
        built_classifier(entry)  # a factory that raises or builds no classifier: one line, now
    if scheduler is not None:
        backend = "dask"
    with tempfile.TemporaryDirectory(prefix="spurbench-") as scratch:
        target = Path(out) if out is not None else Path(scratch)
        harness.run(chosen, models, out_dir=target, seeds=seeds, jobs=jobs, backend=backend,
                    scheduler=scheduler, resume=resume, overwrite=overwrite, timeout=timeout,
                    progress=progress)
        return load(target)


def draw(scenario: ScenarioRef, shift: float, n: int, seed: int = 0, split: str = "test",
         run_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw a sample from a scenario's generator, from the harness's own random streams.

    `draw(s, level, s.n_test, seed)` is the test sample every fit of seed `seed` is scored on at
    that level, and `draw(s, 0.0, n_train, seed, split="train")` is its training sample, so
    a user can inspect exactly what the models saw.

    Parameters
    ----------
    scenario : a name, path or `Scenario`.
    shift : float in [0, 1]; 0 is the training distribution.
    n : number of examples.
    seed : the seed index (as in the results' `seed` column).
    split : {"test", "train"}; families built on real rows never mix the two pools.
    run_seed : root of every stream (`spurbench run --run-seed`).

    Returns
    -------
    X, y, groups : numpy.ndarray
        Features, labels and group labels (``n_classes * y + attribute``).
    """
    (chosen,) = scenarios(scenario)
    content = chosen.content_hash()
    if split == "train":
        rng = train_stream(run_seed, content, seed, n)
    elif split == "test":
        rng = test_stream(run_seed, content, seed, shift)
    else:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    generator = chosen.generator().resplit(split_stream(run_seed, content, seed))
    sample = generator.sample(n, shift, rng, split=split)
    return sample.X, sample.y, sample.group


def compare(candidate: str | ModelEntry, scenarios: Any = None,
            against: Sequence[str | ModelEntry] = PANEL, *, seeds: int | None = 1,
            jobs: int = -1) -> pd.DataFrame:
    """Rank one model beside others on the quick grid, per scenario, and print the table.

    Ranks (1 = best) use the mean over seeds at each scenario's largest shift and largest
    training size: accuracy, and worst-group accuracy, the two numbers a robust model must win.

    Parameters
    ----------
    candidate : a registered name, reference or `model(...)` entry.
    scenarios : as in `run` (default: one quick scenario per generator family).
    against : the models to rank against (default: the declared panel).
    seeds : seeds per cell (1 keeps it quick).
    jobs : parallel workers.

    Returns
    -------
    pandas.DataFrame
        Per scenario: the candidate's accuracy and worst-group accuracy, their ranks, and the
        number of models ranked.
    """
    absent = unavailable_models()  # the panel's optional models, when their extra is not installed
    against = [m for m in against if not (isinstance(m, str) and m in absent)]
    rows = run(scenarios, [candidate, *against], seeds=seeds, jobs=jobs, quick=True)
    name = candidate.name if isinstance(candidate, ModelEntry) else candidate
    table = []
    for scenario, part in rows.groupby("scenario"):
        board = leaderboard(part).set_index("model")[["accuracy_shift", "worst_group_shift"]]
        ranks = board.rank(ascending=False, method="min")
        mine = board.reindex([name]).iloc[0]  # NaN when every fit of the candidate failed
        rank = ranks.reindex([name]).iloc[0]
        table.append({"scenario": scenario, "model": name, "n_models": len(board),
                      "accuracy_shift": mine["accuracy_shift"], "accuracy_rank": rank["accuracy_shift"],
                      "worst_group_shift": mine["worst_group_shift"],
                      "worst_group_rank": rank["worst_group_shift"]})
    result = pd.DataFrame(table)
    print(result.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return result
