"""`spurbench check-model`: run a model through the contract the harness relies on, then a tiny grid.

Like `benchopt test`, it answers "will my plugin work in a run?" in seconds, with one line per
rule, instead of a run full of error rows. Each rule is a function that raises AssertionError
with what it saw; the checks use a small sample of a shipped scenario. `spurbench.check_model`
and the command line both call `check_model` here and differ only in how they show its result.

`built_classifier` is the first rule's check on its own: `spurbench run --model` and
`spurbench.run(models=...)` call it before anything runs, so a factory that raises or does not
build a classifier is one line naming it (exit 2), not a run of error rows.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from spurbench.errors import ModelError
from spurbench.harness.spec import load_scenarios
from spurbench.registry import ModelEntry

SCENARIO = "spurious_gaussian"
N_TRAIN, N_TEST = 200, 200
# What the harness calls on every estimator (`predict` by `make perf` and users' own code).
CLASSIFIER_METHODS = ("fit", "predict_proba")  # what the harness calls
MAX_DETAIL = 200  # characters of an exception's message quoted in a one-line error


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str = ""

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.rule}" + (f": {self.detail}" if self.detail else "")


def built_classifier(entry: ModelEntry, where: str | None = None) -> Any:
    """Build `entry`'s estimator once, as every fit will (`random_state=0`), and return it.

    Raises `ModelError` naming `where` (default: the model) when the factory raises or returns an
    object without ``CLASSIFIER_METHODS``: the user's error, refused before any fit runs.
    """
    where = where or f"model {entry.name!r}"
    try:
        estimator = entry.build(0)
    except (Exception, SystemExit) as exc:  # whatever the factory raises, it is the finding
        lines = str(exc).strip().splitlines()
        detail = lines[0][:MAX_DETAIL] if lines else ""
        raise ModelError(f"{where}: calling its factory with random_state=0 raised "
                         f"{type(exc).__name__}" + (f": {detail}" if detail else "")
                         + "; a factory must take random_state and return an unfitted classifier"
                         ) from None
    missing = [m for m in CLASSIFIER_METHODS if not callable(getattr(estimator, m, None))]
    if missing:
        raise ModelError(f"{where}: its factory returned a {type(estimator).__name__}, not a "
                         f"classifier (no {', '.join(missing)}); it must return an unfitted "
                         f"estimator with {', '.join(CLASSIFIER_METHODS)}")
    return estimator


def _a_classifier(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    try:
        built_classifier(entry)
    except ModelError as exc:
        raise AssertionError(str(exc)) from None


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scenario = load_scenarios([SCENARIO])[0]
    gen = scenario.generator()
    train = gen.sample(N_TRAIN, 0.0, np.random.default_rng(0), split="train")
    test = gen.sample(N_TEST, 1.0, np.random.default_rng(1), split="test")
    return train.X, train.y, test.X


def _fresh_and_unfitted(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    first, second = entry.build(0), entry.build(0)
    assert first is not second, "the factory returned the same object twice; build a new one per call"
    try:
        check_is_fitted(first)
    except NotFittedError:
        return
    raise AssertionError("the factory returned an already fitted estimator")


def _classes(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    classes = np.asarray(entry.build(0).fit(X, y).classes_)
    assert np.array_equal(classes, np.unique(y)), f"classes_ is {classes}, expected {np.unique(y)}"


def _probabilities(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    proba = np.asarray(entry.build(0).fit(X, y).predict_proba(X_test), dtype=float)
    assert proba.shape == (len(X_test), 2), f"predict_proba has shape {proba.shape}"
    assert np.all((proba >= 0) & (proba <= 1)), "probabilities outside [0, 1]"
    worst = np.abs(proba.sum(axis=1) - 1).max()
    assert worst < 1e-6, f"rows sum to 1 within {worst:.2g}, not 1e-6"


def _deterministic(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    a, b = (entry.build(7).fit(X, y).predict_proba(X_test) for _ in range(2))
    assert np.array_equal(a, b), "two fits with random_state=7 predict different probabilities"


def _pickles(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    fitted = entry.build(0).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    assert np.array_equal(fitted.predict_proba(X_test), again.predict_proba(X_test)), \
        "the unpickled model predicts differently"


def _tiny_grid(entry: ModelEntry, X: Any, y: Any, X_test: Any) -> None:
    from spurbench.harness import grid
    from spurbench.harness.store import read_results

    scenario = load_scenarios([SCENARIO])[0].quick()
    with tempfile.TemporaryDirectory(prefix="spurbench-check-") as out:
        grid.run([scenario], [entry], out_dir=out, seeds=1, jobs=1, progress=False)
        rows = read_results(out)
    errors = rows.loc[rows["status"] != "ok", "error"]
    assert errors.empty, f"{len(errors)} of {len(rows)} rows failed: {errors.iloc[0]}"


RULES: dict[str, Callable[..., None]] = {
    "the factory builds a classifier (fit, predict_proba)": _a_classifier,
    "a fresh, unfitted estimator per call": _fresh_and_unfitted,
    "classes_ after fit": _classes,
    "predict_proba in [0, 1], rows sum to 1": _probabilities,
    "deterministic under a fixed random_state": _deterministic,
    "the fitted model pickles": _pickles,
    f"a tiny grid ({SCENARIO}, quick, one seed) runs without error rows": _tiny_grid,
}


@dataclass(frozen=True)
class ModelCheck:
    """The outcome of every rule for one model: `passed`, a frame, or the lines the CLI prints."""

    model: str
    results: tuple[RuleResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def to_frame(self) -> pd.DataFrame:
        """One row per rule: rule, passed, detail (the reason of a failure)."""
        return pd.DataFrame([(r.rule, r.passed, r.detail) for r in self.results],
                            columns=["rule", "passed", "detail"])

    def __str__(self) -> str:
        passing = sum(r.passed for r in self.results)
        return "\n".join([*map(str, self.results),
                          f"{self.model}: {passing} of {len(self.results)} rules pass"])


def _outcomes(entry: ModelEntry) -> Iterator[RuleResult]:
    data = _data()
    for rule, check in RULES.items():
        try:
            check(entry, *data)
        except Exception as exc:  # the model's bug is the finding, whatever its type
            yield RuleResult(rule, False, f"{type(exc).__name__}: {exc}")
        else:
            yield RuleResult(rule, True)


def check_model(entry: ModelEntry) -> ModelCheck:
    """Run every rule of ``RULES`` on `entry`; a rule that raises anything fails with the reason."""
    return ModelCheck(entry.name, tuple(_outcomes(entry)))
