"""One fit: draw the training sample, fit one model, score it at every shift level.

This is what runs inside a worker. It receives only a `FitTask` (a few strings and numbers),
generates its data from the seed, and returns plain rows: arrays never cross process boundaries.
A model that raises (or runs past the time limit) becomes rows with status "error".
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from spurbench.evaluation.adaptation import em_prior_adaptation
from spurbench.evaluation.fit_checks import fit_flags
from spurbench.evaluation.importance import role_importance, spurious_share
from spurbench.evaluation.metrics import score_predictions, worst_group_accuracy
from spurbench.generators.base import Generator, Sample
from spurbench.harness.fitkey import FitCode, estimator_params, fit_code, fit_key, normalise, resolved_params
from spurbench.harness.oracles import oracle_accuracies
from spurbench.harness.seeding import int_seed_for, rng_for
from spurbench.harness.spec import VALIDATION_SIZE, Scenario
from spurbench.harness.store import METRIC_COLUMNS
from spurbench.registry import ModelEntry, get_model
from threadpoolctl import ThreadpoolController

EM_SUFFIX = "+em"


class FitTimeout(Exception):
    """The fit ran past the run's --timeout."""


@dataclass(frozen=True)
class FitTask:
    """Everything that determines one fit's numbers; small enough to ship to any worker.

    `model` may be given as a registered name or as a `ModelEntry`; either way the task carries
    the entry (factory or estimator, paradigm, tags) to the worker, which never looks a model up
    by name: a model defined in a notebook, a script or on the command line runs the same on one
    job, many, or a Dask cluster. After construction `model` is the entry's name.
    """

    scenario: Scenario
    model: str | ModelEntry
    seed: int
    n_train: int
    run_seed: int = 0
    timeout: float | None = None
    # a point of the model's search space, ((parameter, value), ...); () = its defaults
    config: tuple[tuple[str, Any], ...] = ()
    entry: ModelEntry = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        entry = self.model if isinstance(self.model, ModelEntry) else self.entry
        if entry is None:
            entry = get_model(self.model)
        object.__setattr__(self, "entry", entry)
        object.__setattr__(self, "model", entry.name)

    @cached_property
    def scenario_hash(self) -> str:
        return self.scenario.content_hash()

    @cached_property
    def key(self) -> str:
        """Key for resume: a content hash of the model's parameters, the scenario's resolved
        parameters and name, seed, sizes, and the code that computes the fit (`code`, see `fitkey`).

        The name is in the key (though not in the data's seeds) so that two scenarios with the
        same content keep their own rows. Cached: the parent computes it to plan the run, and the
        pickled task carries it to the worker. A factory that cannot build an estimator still
        gets a key (from its name and origin); its fits then fail in the worker as error rows.
        """
        model = self._model_content
        # The content hash too: it seeds the data streams, so it can change a number.
        scenario = {"name": self.scenario.name, "hash": self.scenario_hash, "family": self.scenario.family,
                    "params": resolved_params(self.scenario.family, self.scenario.params),
                    "levels": list(self.scenario.shift_levels), "n_test": self.scenario.n_test}
        return fit_key(model, scenario, self.seed, self.n_train, self.run_seed, self.code)

    @cached_property
    def code(self) -> FitCode:
        """The source hash and package versions in the key (see `fitkey.fit_code`); run.json
        lists the versions of every task's."""
        return fit_code(self._model_content, self.scenario.family)

    @cached_property
    def _model_content(self) -> dict[str, Any]:
        """The model's part of the key: its estimator's parameters and where it comes from."""
        try:
            model = estimator_params(self.entry.build(self.model_seed(), self.config))
        except Exception as exc:  # the fit records the failure; planning must go on
            model = {"unbuildable": type(exc).__name__}
        return {**model, "name": self.model, "origin": self.entry.origin,
                "tags": sorted(self.entry.tags), "config": self.config_json}

    @property
    def config_json(self) -> str:
        """The configuration as canonical JSON ("{}" for the defaults), as rows store it."""
        return json.dumps({k: normalise(v) for k, v in self.config}, sort_keys=True)

    @property
    def selection(self) -> str:
        """How the fit's rows are stored: "fixed" (the defaults) or "candidate" (a point of the
        search space that a protocol of benchmark/evaluation/selection.py may pick)."""
        return "candidate" if self.config else "fixed"

    def model_seed(self) -> int:
        """The same for every configuration of a cell: configurations differ only in parameters."""
        return int_seed_for(self.run_seed, self.scenario_hash, self.model, self.seed, "model")

    def train_rng(self) -> np.random.Generator:
        return train_stream(self.run_seed, self.scenario_hash, self.seed, self.n_train)

    def test_rng(self, level: float) -> np.random.Generator:
        return test_stream(self.run_seed, self.scenario_hash, self.seed, level)

    def validation_rng(self) -> np.random.Generator:
        return rng_for(self.run_seed, self.scenario_hash, self.seed, "validation", self.n_train)

    def split_rng(self) -> np.random.Generator:
        """The real-data train/test split of this seed (`Generator.resplit`)."""
        return split_stream(self.run_seed, self.scenario_hash, self.seed)


def train_stream(run_seed: int, scenario_hash: str, seed: int, n_train: int) -> np.random.Generator:
    """The training sample's stream. No model in the key: every model of a scenario sees the
    same data (paired comparisons); `spurbench.draw` reads the same stream."""
    return rng_for(run_seed, scenario_hash, seed, "train", n_train)


def test_stream(run_seed: int, scenario_hash: str, seed: int, level: float) -> np.random.Generator:
    """The test sample's stream at one shift level (shared by every model, and by `draw`)."""
    return rng_for(run_seed, scenario_hash, seed, "test", level)


def split_stream(run_seed: int, scenario_hash: str, seed: int) -> np.random.Generator:
    """The stream that splits a real-data family's rows for one seed (shared with `draw`)."""
    return rng_for(run_seed, scenario_hash, seed, "split")


@dataclass
class FitResult:
    key: str
    rows: list[dict[str, Any]]
    seconds: float

    @property
    def failed(self) -> bool:
        return any(r["status"] != "ok" for r in self.rows)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise FitTimeout after `seconds` of wall time.

    Uses SIGALRM, which works where tasks run on a process's main thread (in-process and loky
    workers). In threaded workers (Dask) the limit is checked after the fit instead.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise FitTimeout(f"fit exceeded the {seconds:g} s timeout")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _aligned_proba(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """predict_proba with one column per class label 0..n_classes-1 (absent classes get 0)."""
    proba = _checked_proba(np.asarray(model.predict_proba(X), dtype=float))
    classes = np.asarray(model.classes_).astype(int)
    if proba.shape[1] == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(X), n_classes))
    full[:, classes] = proba
    return full


def _checked_proba(proba: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """Refuse probabilities outside [0, 1] or rows not summing to 1: every metric assumes them,
    so such a fit must be stored as an error with the reason, not scored as `ok`."""
    if proba.ndim != 2 or not np.isfinite(proba).all():
        raise ValueError("predict_proba returned non-finite values or not a 2-d array")
    if proba.min() < -tolerance or proba.max() > 1 + tolerance:
        raise ValueError(f"predict_proba returned values outside [0, 1] "
                         f"(min {proba.min():.3g}, max {proba.max():.3g})")
    worst = float(np.abs(proba.sum(axis=1) - 1).max())
    if worst > tolerance:
        raise ValueError(f"predict_proba rows do not sum to 1 (off by up to {worst:.3g})")
    return proba


class _FittedModel:
    """A fitted model plus what the harness does around it: imputation and oracle context."""

    def __init__(self, entry: ModelEntry, estimator: Any, generator: Generator, train: Sample,
                 columns: np.ndarray | None = None):
        self.entry, self.estimator, self.generator = entry, estimator, generator
        self.columns = columns  # restrict to these features (the core-only reference)
        X = self._select(train.X)
        if hasattr(estimator, "set_structure"):  # the DAG and state counts only, as for oracles
            structure = generator.structure()
            if structure is not None and columns is not None:
                structure = structure.restrict(columns)
            estimator.set_structure(structure)
        self.imputer = None
        if "missing" not in entry.tags:
            self.imputer = SimpleImputer(strategy="mean", keep_empty_features=True).fit(X)
        # Training group labels reach only the models that declare they use them.
        extra = {"groups": train.group} if "groups" in entry.tags else {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(X, train.y, **extra)
        self.warnings = caught  # read by fit_checks.fit_flags

    def _select(self, X: np.ndarray) -> np.ndarray:
        return X if self.columns is None else X[:, self.columns]

    def missing_handling(self, X: np.ndarray) -> str:
        if not np.isnan(X).any():
            return "none"
        return "native" if self.imputer is None else "mean_imputation"

    def proba(self, X: np.ndarray, shift: float) -> np.ndarray:
        X = self._select(X)
        if self.imputer is not None and np.isnan(X).any():
            X = self.imputer.transform(X)
        if hasattr(self.estimator, "set_distribution"):
            self.estimator.set_distribution(self.generator, shift)
        return _aligned_proba(self.estimator, X, self.generator.n_classes)


def _metrics(test: Sample, proba: np.ndarray, proba_cf: np.ndarray | None) -> dict[str, float]:
    return score_predictions(test.y, proba, test.group, proba_cf)


def _spurious_importance(fitted: _FittedModel, train: Sample, seed: int) -> float:
    """Share of the model's role importance on the spurious block (NaN without one)."""
    if "spurious" not in train.roles or fitted.entry.paradigm == "oracle":
        return float("nan")
    X = train.X if fitted.imputer is None else fitted.imputer.transform(train.X)
    return spurious_share(role_importance(fitted.estimator, X, train.y, train.roles, seed))


def _fit_diagnostics(task: FitTask, fitted: _FittedModel, train: Sample) -> dict[str, Any]:
    """What every row of the fit shares: training and validation accuracy, and its flags (judged
    on the validation sample: `fit_checks`).

    The validation sample comes from the training distribution (shift 0) through its own stream,
    the same draw for every model of the cell: what "best model" is chosen on, never test draws.
    For real-data families it comes from the validation pool, disjoint from the training rows
    (see `generators._real`).
    """
    train_pred = fitted.proba(train.X, 0.0).argmax(axis=1)
    train_accuracy = float(np.mean(train_pred == train.y))
    size = fitted.generator.validation_size(min(task.scenario.n_test, VALIDATION_SIZE))
    val = fitted.generator.sample(size, 0.0, task.validation_rng(), split="validation")
    val_pred = fitted.proba(val.X, 0.0).argmax(axis=1)
    val_accuracy = float(np.mean(val_pred == val.y))
    oracle = fitted.entry.paradigm == "oracle"
    return {"train_accuracy": train_accuracy,
            "train_worst_group_accuracy": worst_group_accuracy(train.y, train_pred, train.group),
            "val_accuracy": val_accuracy,
            "val_worst_group_accuracy": worst_group_accuracy(val.y, val_pred, val.group),
            # the worst class: SubpopBench's label-free selection criterion (no group labels)
            "val_worst_class_accuracy": worst_group_accuracy(val.y, val_pred, val.y),
            "fit_flags": "" if oracle else fit_flags(fitted.estimator, fitted.warnings,
                                                     val_accuracy, val.y)}


class SpuriousControls:
    """What a model can do once its spurious features are known, and what it costs (in fits).

    Two variants of every learner, scored beside it at every level and kept out of averages
    (``reference`` = 1):

    * ``<model>+drop_spurious``: no refit. The spurious columns are set missing at test time:
      a model tagged ``missing`` (the generative ones) marginalises them, dropping their factor
      of P(x | y); any other model sees them mean-imputed from its training sample.
    * ``<model>+refit_without_spurious``: one more fit, on the other columns.
    """

    DROP, REFIT = "+drop_spurious", "+refit_without_spurious"

    def __init__(self, fitted: _FittedModel, train: Sample):
        self.fitted, self.spurious = fitted, np.asarray(train.roles) == "spurious"
        start = time.perf_counter()
        self.refitted = _FittedModel(fitted.entry, clone(fitted.estimator), fitted.generator, train,
                                     columns=np.flatnonzero(~self.spurious))
        self.refit_seconds = time.perf_counter() - start

    def rows(self, task: FitTask, test: Sample, level: float, common: dict[str, Any]) -> list[dict]:
        dropped = test.X.copy()
        dropped[:, self.spurious] = np.nan
        proba = self.fitted.proba(dropped, level)
        how = "spurious_imputed" if self.fitted.imputer is not None else "spurious_marginalised"
        refit = self.refitted.proba(test.X, level)
        return [{**common, **_metrics(test, proba, proba), "model": task.model + self.DROP,
                 "missing_handling": how, "reference": 1},
                {**common, **_metrics(test, refit, refit), "model": task.model + self.REFIT,
                 "fit_seconds": self.refit_seconds, "reference": 1}]


def _score_levels(task: FitTask, fitted: _FittedModel, train: Sample) -> list[dict[str, Any]]:
    """Rows for every shift level (and for the prior-adapted variant where it applies)."""
    gen, scenario = fitted.generator, task.scenario
    adapt = gen.prior_adaptation and "prior_shift" in fitted.entry.tags
    core_ref = None
    if not gen.knows_posterior() and "spurious" in train.roles and fitted.entry.paradigm != "oracle":
        # Real data has no invariant oracle: the reference is the same model without the
        # spurious columns.
        core_ref = _FittedModel(fitted.entry, clone(fitted.estimator), gen, train,
                                columns=train.core_columns)
    share = _spurious_importance(fitted, train, task.model_seed())
    diagnostics = _fit_diagnostics(task, fitted, train)
    controls = (SpuriousControls(fitted, train) if scenario.spurious_controls
                and "spurious" in train.roles and fitted.entry.paradigm != "oracle" else None)
    train_prior = np.bincount(train.y, minlength=gen.n_classes) / len(train.y)
    rows = []
    for level in scenario.shift_levels:
        test = gen.sample(scenario.n_test, level, task.test_rng(level), split="test")
        start = time.perf_counter()
        proba = fitted.proba(test.X, level)
        proba_cf = None if test.X_counterfactual is None else fitted.proba(test.X_counterfactual,
                                                                           level)
        predict_seconds = time.perf_counter() - start
        oracle = dict(oracle_accuracies(gen, task.scenario_hash, level, task.run_seed))
        if core_ref is not None:
            core_pred = core_ref.proba(test.X, level).argmax(axis=1)
            oracle["invariant_accuracy"] = float(np.mean(core_pred == test.y))
            oracle["invariant_accuracy_se"] = float("nan")  # a fitted reference, not a population value
        common = {**oracle, **diagnostics, "shift": level,
                  # the best constant prediction on this test sample (its majority class's share)
                  "majority_accuracy": float(np.bincount(test.y).max() / len(test.y)),
                  "missing_handling": fitted.missing_handling(test.X),
                  "predict_seconds": predict_seconds, "spurious_importance": share}
        rows.append({**common, **_metrics(test, proba, proba_cf), "model": task.model})
        if adapt:
            adapted, _ = em_prior_adaptation(proba, train_prior)
            adapted_cf = None if proba_cf is None else em_prior_adaptation(proba_cf, train_prior)[0]
            rows.append({**common, **_metrics(test, adapted, adapted_cf),
                         "model": task.model + EM_SUFFIX, "reference": 1})
        if controls is not None:
            rows.extend(controls.rows(task, test, level, common))
    return rows


def _error_rows(task: FitTask, message: str) -> list[dict[str, Any]]:
    return [{**{c: float("nan") for c in METRIC_COLUMNS}, "shift": level, "model": task.model,
             "missing_handling": None, "fit_flags": None, "predict_seconds": float("nan"), "error": message,
             "status": "error"}
            for level in task.scenario.shift_levels]


_CONTROLLER: dict[int, ThreadpoolController] = {}


def _one_blas_thread() -> Any:
    """`threadpool_limits(limits=1)` without rescanning the loaded libraries on every fit (a scan
    costs ~7 ms); rescanned whenever a module was imported since (it may have loaded a library)."""
    loaded = len(sys.modules)
    if loaded not in _CONTROLLER:
        _CONTROLLER.clear()
        _CONTROLLER[loaded] = ThreadpoolController()
    return _CONTROLLER[loaded].limit(limits=1)


def run_fit(task: FitTask) -> FitResult:
    """Fit `task.model` once on the shift-0 training sample and score it at every level."""
    start = time.perf_counter()
    entry = task.entry
    gen = task.scenario.generator().resplit(task.split_rng())
    fit_seconds = float("nan")
    try:
        # One BLAS thread per fit: parallelism is across fits, and results do not depend on
        # how many threads a worker happened to have.
        with _one_blas_thread(), time_limit(task.timeout):
            train = gen.sample(task.n_train, 0.0, task.train_rng(), split="train")
            fit_start = time.perf_counter()
            fitted = _FittedModel(entry, entry.build(task.model_seed(), task.config), gen, train)
            fit_seconds = time.perf_counter() - fit_start
            rows = _score_levels(task, fitted, train)
        elapsed = time.perf_counter() - start
        if task.timeout and elapsed > task.timeout:
            raise FitTimeout(f"fit exceeded the {task.timeout:g} s timeout ({elapsed:.1f} s)")
        for row in rows:
            row.update(status="ok", error=None)
    except (Exception, SystemExit) as exc:  # a model's failure is a result, not a crash of the run
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        rows = _error_rows(task, detail)
    return _result(task, entry, rows, fit_seconds, start)


def failed_fit(task: FitTask, message: str) -> FitResult:
    """Error rows for a fit that could not report itself (its worker died or was stopped)."""
    return _result(task, task.entry, _error_rows(task, message), float("nan"),
                   time.perf_counter())


def _result(task: FitTask, entry: ModelEntry, rows: list[dict[str, Any]], fit_seconds: float,
            start: float) -> FitResult:
    base = {"scenario": task.scenario.name, "family": task.scenario.data_family,
            "paradigm": entry.paradigm, "group": entry.group, "reference": int(entry.reference),
            "seed": task.seed, "n_train": task.n_train, "config": task.config_json,
            "selection": task.selection,
            "n_test": task.scenario.n_test, "fit_seconds": fit_seconds, "fit_key": task.key,
            "scenario_hash": task.scenario_hash}
    return FitResult(task.key, [{**base, **row} for row in rows], time.perf_counter() - start)
