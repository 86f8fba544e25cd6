"""The Python API, imported as `spurbench`: run, model, load, scenarios, draw, compare, evaluate,
check_model, report.

Thin on purpose: every function goes through the same harness, store, seeds and metrics as the
command line, so a notebook's numbers equal a `spurbench run`'s for the same inputs. Wherever a
model is asked for, a plain unfitted estimator works too: its paradigm is inferred
(`infer_paradigm`) or asked for in a one-line error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from spurbench.errors import ParameterError, SpurbenchError
from spurbench.evaluation.metrics import (
    accuracy,
    balanced_accuracy,
    score_predictions,
    spurious_reliance,
    worst_group_accuracy,
)
from spurbench.harness import grid
from spurbench.harness.fitting import split_stream, test_stream, train_stream
from spurbench.harness.spec import Scenario, load_scenarios, one_per_family
from spurbench.harness.store import PARQUET_NAME, read_results, typed
from spurbench.interface.check import ModelCheck, built_classifier
from spurbench.models import unavailable_models
from spurbench.registry import PANEL, ModelEntry, get_model, load_model_reference, make_model
from spurbench.report.leaderboard import SORT_KEY, Comparison

ScenarioRef = str | Path | Scenario
ModelRef = str | ModelEntry | Any  # a name, a "pkg.mod:factory" reference, an entry or an estimator
# Where a plain estimator's paradigm and group are inferred from: the module its class (or a
# pipeline's last step, a meta-estimator's `estimator`) comes from; first match wins.
PARADIGM_BY_MODULE = (
    ("sklearn.naive_bayes", "generative", "parametric_generative"),
    ("sklearn.discriminant_analysis", "generative", "parametric_generative"),
    ("sklearn.linear_model", "discriminative", "linear_discriminative"),
    ("sklearn.svm", "discriminative", None),  # LinearSVC is linear, SVC is as its kernel
    ("sklearn.tree", "discriminative", "nonlinear_discriminative"),
    ("sklearn.ensemble", "discriminative", "nonlinear_discriminative"),
    ("sklearn.neural_network", "discriminative", "nonlinear_discriminative"),
    ("sklearn.neighbors", "discriminative", "nonlinear_discriminative"),
    ("sklearn.gaussian_process", "discriminative", "nonlinear_discriminative"),
    ("xgboost", "discriminative", "nonlinear_discriminative"),
    ("lightgbm", "discriminative", "nonlinear_discriminative"),
    ("catboost", "discriminative", "nonlinear_discriminative"),
)


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
    wrong = [t for t in (targets if isinstance(targets, Iterable) else [targets])
             if not isinstance(t, str | Path | Scenario)]
    if wrong:
        hint = (" (a model goes in models=, e.g. spurbench.run(\"spurious_gaussian\", models=[estimator]))"
                if hasattr(wrong[0], "fit") or isinstance(wrong[0], ModelEntry) else "")
        raise ParameterError("scenarios", f"expected scenario names, TOML paths or Scenario objects, got "
                             f"{type(wrong[0]).__name__}{hint}")
    return [t if isinstance(t, Scenario) else load_scenarios([t])[0] for t in targets]


def _grid_scenarios(targets: Any, quick: bool) -> list[Scenario]:
    chosen = scenarios(targets)
    if quick:
        chosen = [s.quick() for s in (one_per_family(chosen) if targets is None else chosen)]
    return chosen


def infer_paradigm(estimator: Any) -> tuple[str, str | None] | None:
    """(paradigm, group) of a plain estimator where it can be told, else None.

    A `paradigm` (and `group`) attribute wins; spurbench's class-conditional estimators (they fit
    p(x | y) p(y)) are generative; otherwise the module of the class decides (``PARADIGM_BY_MODULE``:
    naive Bayes and discriminant analysis generative, linear models, SVMs, trees, ensembles,
    MLPs, neighbours and gradient-boosting libraries discriminative). A pipeline is its last step;
    a meta-estimator (search, calibration) its `estimator`; a subclass its nearest known base.
    """
    from sklearn.pipeline import Pipeline
    from spurbench.models.class_conditional import ClassConditionalClassifier

    if getattr(estimator, "paradigm", None) is not None:
        return estimator.paradigm, getattr(estimator, "group", None)
    if isinstance(estimator, Pipeline):
        return infer_paradigm(estimator.steps[-1][1])
    if isinstance(estimator, ClassConditionalClassifier):
        return "generative", None
    for cls in type(estimator).__mro__:  # a subclass of a known estimator is what its base is
        for prefix, paradigm, group in PARADIGM_BY_MODULE:
            if cls.__module__ == prefix or cls.__module__.startswith(prefix + "."):
                if prefix == "sklearn.svm":
                    linear = cls.__name__ == "LinearSVC" or getattr(estimator, "kernel", "") == "linear"
                    group = "linear_discriminative" if linear else "nonlinear_discriminative"
                return paradigm, group
    inner = estimator.get_params(deep=False).get("estimator") if hasattr(estimator, "get_params") else None
    return None if inner is None else infer_paradigm(inner)


def model(estimator_or_factory: Any, *, paradigm: str | None = None, name: str | None = None,
          tags: Iterable[str] = (), group: str | None = None) -> ModelEntry:
    """Wrap an unfitted scikit-learn estimator or a factory `f(random_state)` as a model.

    An estimator is cloned for every fit (`sklearn.base.clone`), with its `random_state`
    parameters set from the fit's seed; the returned entry travels with each fit, so it works
    with any number of jobs and on Dask, even when defined in a notebook.

    Parameters
    ----------
    estimator_or_factory : an unfitted estimator, a callable taking `random_state`, or a
        ``"pkg.mod:factory"`` reference (then named after the reference).
    paradigm : {"generative", "discriminative"}; inferred for an estimator when omitted
        (`infer_paradigm`), required for a factory that declares none.
    name : str, optional
        Name in the results (default: the factory's or estimator class's name).
    tags : capabilities (`prior_shift`, `missing`, `sample`, ...).
    group : one of `spurbench.registry.GROUPS` matching the paradigm (inferred with the paradigm
        where it can be, else the paradigm's default group).

    Returns
    -------
    ModelEntry
        Pass it to `run` or `compare` in `models`.
    """
    if isinstance(estimator_or_factory, str):
        return load_model_reference(estimator_or_factory, paradigm)
    obj = estimator_or_factory
    is_estimator = hasattr(obj, "get_params") and not isinstance(obj, type)
    if not (is_estimator or callable(obj)):
        raise ParameterError("models", f"{type(obj).__name__} is not a model: pass a registered name, "
                             "an unfitted scikit-learn estimator, a factory f(random_state) or "
                             "spurbench.model(...)")
    if paradigm is None:
        inferred = infer_paradigm(obj) if is_estimator else None
        if inferred is None:
            label = name or getattr(obj, "__name__", type(obj).__name__)
            raise SpurbenchError(f"model {label!r}: cannot tell whether it is generative or "
                                 "discriminative; wrap it as spurbench.model(obj, "
                                 "paradigm=\"generative\" or \"discriminative\")")
        paradigm, inferred_group = inferred
        group = group or inferred_group
    return make_model(estimator_or_factory, paradigm=paradigm, name=name, tags=tags, group=group)


def _as_model(ref: ModelRef) -> str | ModelEntry:
    """A name or entry as the harness takes it; a plain estimator wrapped by `model`."""
    return ref if isinstance(ref, str | ModelEntry) else model(ref)


def load(path: str | Path) -> pd.DataFrame:
    """The result rows of a run directory, with their declared column types.

    Reads `results.parquet` when the run exported it, else the CSV or SQLite store.
    """
    parquet = Path(path) / PARQUET_NAME
    return pd.read_parquet(parquet) if parquet.exists() else typed(read_results(path))


def run(scenarios: Any = None, models: Sequence[ModelRef] | ModelRef | None = None, *,
        seeds: int | None = None, jobs: int = -1, out: str | Path | None = None,
        quick: bool = False, backend: str = "loky", scheduler: str | None = None,
        resume: bool = False, overwrite: bool = False, timeout: float | None = None,
        progress: bool = False) -> pd.DataFrame:
    """Run scenarios x models x seeds x n_train and return the stored rows.

    Parameters
    ----------
    scenarios : names, paths or `Scenario` objects; None for every shipped scenario (with
        `quick`, one per generator family).
    models : registered names, ``"pkg.mod:factory"`` references, `model(...)` entries or plain
        unfitted estimators (wrapped by `model`, paradigm inferred); None for every registered
        model. Each is built once first: a factory that raises, or returns no classifier, raises
        `spurbench.errors.ModelError` naming it.
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
    if models is not None:
        single = isinstance(models, str | ModelEntry) or hasattr(models, "get_params")
        models = [_as_model(m) for m in ([models] if single or not isinstance(models, Iterable) else models)]
    for entry in grid.resolve_models(models or ()):
        built_classifier(entry)  # a factory that raises or builds no classifier: one line, now
    if scheduler is not None:
        backend = "dask"
    with tempfile.TemporaryDirectory(prefix="spurbench-") as scratch:
        target = Path(out) if out is not None else Path(scratch)
        grid.run(chosen, models, out_dir=target, seeds=seeds, jobs=jobs, backend=backend,
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


def compare(candidate: ModelRef, scenarios: Any = None, against: Sequence[ModelRef] = PANEL, *,
            seeds: int = 3, jobs: int = -1, sort_by: str = SORT_KEY) -> Comparison:
    """Rank one model beside others on the quick grid; nothing is printed.

    Every model runs the same scenarios, seeds and data (paired); only the scenarios the candidate
    ran count. The ranking is the leaderboard's (`spurbench leaderboard --help`): per model, the
    mean over families of its family means (scenarios equally within a family, each the mean over
    seeds), with a 95% t interval over families (over scenarios, then (scenario, seed) cells, when
    fewer than 3 families or scenarios ran: it then speaks for those scenarios only). `rank` is an
    integer (1 = best mean); `rank_low`-`rank_high` is its interval: 1 + the models clearly better,
    and the number of models minus those clearly worse, where "clearly" means the 95% t interval of
    the paired difference over the shared families excludes 0. Where the two differ the rank is
    "tied".

    Parameters
    ----------
    candidate : a registered name, reference, `model(...)` entry or a plain estimator.
    scenarios : as in `run` (default: one quick scenario per generator family).
    against : the models to rank against (default: the declared panel).
    seeds : seeds per cell; at least 3, so that intervals exist.
    jobs : parallel workers.
    sort_by : the leaderboard metric to rank by (default accuracy_shift).

    Returns
    -------
    Comparison
        `.to_frame()` (the leaderboard, the candidate marked), `.per_scenario`, `.plot()` (a
        matplotlib Figure), `.to_markdown()`, and the run's `.rows`.
    """
    if seeds < 3:
        raise ParameterError("seeds", f"compare needs at least 3 seeds for its intervals, got {seeds}")
    absent = unavailable_models()  # the panel's optional models, when their extra is not installed
    mine = _as_model(candidate)
    name = mine.name if isinstance(mine, ModelEntry) else get_model(mine).name
    others = [_as_model(m) for m in against if not (isinstance(m, str) and m in absent)]
    others = [m for m in others if (m.name if isinstance(m, ModelEntry) else m) != name]
    rows = run(scenarios, [mine, *others], seeds=seeds, jobs=jobs, quick=True)
    return Comparison(rows, name, sort_by)


def evaluate(y_pred_or_proba: Any, y: Any, groups: Any = None, *, counterfactual: Any = None
             ) -> dict[str, float]:
    """The benchmark's own metrics of predictions made anywhere (WILDS's `dataset.eval`).

    The very functions of `spurbench.evaluation.metrics` that score every stored row, so the numbers
    compare with a run's columns of the same names.

    Parameters
    ----------
    y_pred_or_proba : (n,) predicted labels, or (n, k) probabilities whose columns are the
        classes 0..k-1 (then every probability metric too: log_loss, brier, ece, auroc).
    y : (n,) true labels (integers 0..k-1 with probabilities).
    groups : (n,) group labels for worst_group_accuracy (`draw`'s third value); without them
        it equals accuracy.
    counterfactual : predictions (or probabilities) on the same examples with the spurious
        attribute flipped, for spurious_reliance.

    Returns
    -------
    dict
        accuracy, balanced_accuracy, worst_group_accuracy, spurious_reliance and, from
        probabilities, log_loss, brier, ece and auroc.
    """
    scores, y = np.asarray(y_pred_or_proba), np.asarray(y)
    if y.ndim != 1 or scores.ndim not in (1, 2) or len(scores) != len(y) or not len(y):
        raise ParameterError("y_pred_or_proba", f"expected (n,) labels or (n, k) probabilities for the "
                             f"{len(y)} labels of a 1-d y, got shape {scores.shape}")
    for field, other in (("groups", groups), ("counterfactual", counterfactual)):
        if other is not None and np.shape(other)[:1] != (len(y),):
            raise ParameterError(field, f"needs one entry per example ({len(y)}), "
                                        f"got shape {np.shape(other)}")
    if scores.ndim == 2:
        k = scores.shape[1]
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= k:
            raise ParameterError("y", f"with (n, {k}) probabilities, labels must be integers 0..{k - 1}")
        return score_predictions(y, scores.astype(float), groups,
                                 None if counterfactual is None else np.asarray(counterfactual, float))
    pred_cf = None if counterfactual is None else np.asarray(counterfactual)
    return {"accuracy": accuracy(y, scores), "balanced_accuracy": balanced_accuracy(y, scores),
            "worst_group_accuracy": worst_group_accuracy(y, scores, groups),
            "spurious_reliance": spurious_reliance(scores, pred_cf)}


def check_model(estimator_or_factory: ModelRef, *, paradigm: str | None = None) -> ModelCheck:
    """The checks of `spurbench check-model`: the estimator contract the harness relies on, then a
    tiny grid; returned, not printed (`print(result)` shows what the command line shows).

    Parameters
    ----------
    estimator_or_factory : a registered name, a ``"pkg.mod:factory"`` reference, a `model(...)`
        entry, an unfitted estimator or a factory (then give `paradigm`).
    paradigm : for a factory or reference that declares none.

    Returns
    -------
    ModelCheck
        `.passed`, `.results` (one per rule), `.to_frame()`.
    """
    from spurbench.interface import check

    obj = estimator_or_factory
    if isinstance(obj, str):
        entry = load_model_reference(obj, paradigm) if ":" in obj else get_model(obj)
    else:
        entry = obj if isinstance(obj, ModelEntry) else model(obj, paradigm=paradigm)
    return check.check_model(entry)


def report(run_dir: str | Path, pdf: bool = False) -> Path:
    """Write a stored run's report (figures, tables, report.md, experiments.md, report.html), as
    `spurbench report RUN` does, and return the path of report.md.

    Parameters
    ----------
    run_dir : a run directory (`run(..., out=...)` or `spurbench run --out`).
    pdf : also save every figure as PDF.
    """
    from spurbench.report.render import write_report

    return write_report(Path(run_dir), pdf=pdf)  # a folder with no stored rows: a SpurbenchError
