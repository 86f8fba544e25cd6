"""The fit key follows what computes a fit's numbers: editing one model or family recomputes only
its fits, editing bookkeeping recomputes nothing, and only numeric packages' versions count.

The edit tests change a real copy of the package in a temporary directory and compute keys in a
fresh interpreter, as a user editing a checkout and resuming a run would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import spurbench
from sklearn.linear_model import LogisticRegression
from spurbench.harness import fitkey
from spurbench.harness.fitting import FitTask
from spurbench.harness.grid import _meta
from spurbench.harness.spec import load_scenario

PACKAGE = Path(__file__).resolve().parent.parent / "benchmark"
SCENARIOS = ("group_shift", "label_shift")
# Two models from each of two model modules (discriminative.py, generative.py).
MODELS = ("logistic_regression", "linear_svm", "gaussian_nb", "qda")
KEYS = f"""
import json
from spurbench.harness.fitting import FitTask
from spurbench.harness.spec import load_scenario
keys = {{}}
for name in {SCENARIOS!r}:
    scenario = load_scenario(f"spurbench/datasets/{{name}}.toml")
    for model in {MODELS!r}:
        keys[f"{{name}}/{{model}}"] = FitTask(scenario, model, 0, 100).key
print(json.dumps(keys))
"""


def _keys_in_copy(root: Path) -> dict[str, str]:
    """The keys of SCENARIOS x MODELS computed by a fresh interpreter from the copy at `root`."""
    done = subprocess.run([sys.executable, "-c", KEYS], cwd=root, env={"PYTHONPATH": str(root)},
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {cell for cell in before if after[cell] != before[cell]}


@pytest.fixture(scope="module")
def copy(tmp_path_factory) -> dict:
    """A copy of the package elsewhere on disk, and its keys as they stand (before any edit)."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copytree(PACKAGE, root / "spurbench", ignore=shutil.ignore_patterns("__pycache__"))
    return {"root": root, "keys": _keys_in_copy(root)}


def _recomputed(copy: dict, *files: str) -> set[str]:
    """Append a statement to each file (new source, same behaviour): the cells whose key changed."""
    for name in files:
        with (copy["root"] / "spurbench" / name).open("a") as handle:
            handle.write("\n_EDITED_BY_A_TEST = True\n")
    before, copy["keys"] = copy["keys"], _keys_in_copy(copy["root"])
    return _changed(before, copy["keys"])


@pytest.mark.slow
def test_the_key_is_the_same_for_a_copy_of_the_package_elsewhere(copy):
    for cell, key in copy["keys"].items():
        scenario, model = cell.split("/")
        here = FitTask(load_scenario(PACKAGE / "datasets" / f"{scenario}.toml"), model, 0, 100)
        assert here.key == key, cell


@pytest.mark.slow
def test_editing_one_model_module_recomputes_only_its_models(copy):
    assert _recomputed(copy, "models/discriminative.py") == {f"{s}/{m}" for s in SCENARIOS
                                       for m in ("logistic_regression", "linear_svm")}


@pytest.mark.slow
def test_editing_the_store_report_cli_or_registry_recomputes_nothing(copy):
    assert _recomputed(copy, "harness/store.py", "report/render.py", "report/leaderboard.py",
                       "interface/cli.py", "interface/api.py", "registry.py", "harness/grid.py",
                       "harness/execution.py", "harness/spec.py", "errors.py") == set()


@pytest.mark.slow
def test_editing_a_family_module_recomputes_only_that_familys_fits(copy):
    assert _recomputed(copy, "generators/label_shift.py") == {f"label_shift/{m}" for m in MODELS}


@pytest.mark.slow
def test_editing_the_numeric_core_recomputes_every_fit(copy):
    assert _recomputed(copy, "evaluation/metrics.py") == set(copy["keys"])
    # the harness package is not bookkeeping as a whole: what draws the data is in every key
    assert _recomputed(copy, "harness/seeding.py") == set(copy["keys"])


@pytest.mark.slow
def test_editing_docstrings_and_comments_recomputes_nothing(copy):
    for name in ("models/discriminative.py", "evaluation/metrics.py", "harness/fitting.py"):
        path = copy["root"] / "spurbench" / name
        text = path.read_text()
        opening = text.index('"""') + 3
        path.write_text(text[:opening] + "Reworded by a test. " + text[opening:]
                        + "\n# a comment added by a test\n")
    before, copy["keys"] = copy["keys"], _keys_in_copy(copy["root"])
    assert _changed(before, copy["keys"]) == set()


def _move(root: Path, moves: dict[str, str]) -> None:
    """Move modules of the copy at `root` (dotted names under spurbench) and rewrite every import
    of them, as a refactoring that moves code between packages would."""
    for old, new in moves.items():
        source, target = (root / (n.replace(".", "/") + ".py") for n in (old, new))
        target.parent.mkdir(exist_ok=True)
        (target.parent / "__init__.py").touch()
        source.rename(target)
    for path in (root / "spurbench").rglob("*.py"):
        text = path.read_text()
        for old, new in moves.items():
            text = text.replace(old, new)
        path.write_text(text)


@pytest.mark.slow
def test_moving_modules_between_packages_recomputes_nothing(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "spurbench", ignore=shutil.ignore_patterns("__pycache__"))
    before = _keys_in_copy(tmp_path)
    _move(tmp_path, {"spurbench.evaluation.metrics": "spurbench.scoring.metric_functions",
                     "spurbench.models.discriminative": "spurbench.models.separating"})
    assert _keys_in_copy(tmp_path) == before
    # and the moved code still counts: editing it where it now lives recomputes every fit
    with (tmp_path / "spurbench" / "scoring" / "metric_functions.py").open("a") as handle:
        handle.write("\n_EDITED_BY_A_TEST = True\n")
    assert _changed(before, _keys_in_copy(tmp_path)) == set(before)


def test_the_canonical_source_keeps_code_and_drops_prose_and_module_paths():
    one = b'''"""Doc."""
from spurbench.evaluation.metrics import accuracy as acc
import numpy as np


def f(x):
    """Why."""
    return acc(x) + np.sum(x)  # a comment
'''
    moved = one.replace(b"evaluation.metrics", b"scoring").replace(b"Why.", b"Because.")
    assert fitkey.canonical_source(one) == fitkey.canonical_source(moved)
    for changed in (one.replace(b"np.sum", b"np.mean"), one.replace(b"as acc", b"as accuracy2"),
                    one.replace(b"import numpy as np", b"import scipy as np")):
        assert fitkey.canonical_source(changed) != fitkey.canonical_source(one)


@pytest.fixture
def fresh_versions():
    """Forget cached versions before and after, so a patched version never outlives its test."""
    fitkey.package_version.cache_clear()
    yield
    fitkey.package_version.cache_clear()


def test_a_torch_upgrade_recomputes_the_neural_pair_only_and_matplotlib_nothing(
        monkeypatch, fresh_versions):
    pytest.importorskip("torch")
    scenario = load_scenario(PACKAGE / "datasets" / "group_shift.toml")
    models = ("neural_flow", "neural_mlp", "logistic_regression", "gaussian_nb")
    before = {m: FitTask(scenario, m, 0, 100).key for m in models}
    installed = metadata.version
    for upgraded, recomputed in (("torch", {"neural_flow", "neural_mlp"}), ("matplotlib", set()),
                                 ("seaborn", set()), ("pyarrow", set()), ("tqdm", set())):
        monkeypatch.setattr(metadata, "version",
                            lambda name, u=upgraded: "999.0" if name == u else installed(name))
        fitkey.package_version.cache_clear()
        after = {m: FitTask(scenario, m, 0, 100).key for m in models}
        assert {m for m in models if after[m] != before[m]} == recomputed, upgraded
        monkeypatch.undo()


def test_run_json_versions_include_torch_when_the_neural_pair_ran():
    pytest.importorskip("torch")
    scenario = load_scenario(PACKAGE / "datasets" / "group_shift.toml")
    neural = _meta([scenario], [FitTask(scenario, "neural_mlp", 0, 100)], 0)["versions"]
    linear = _meta([scenario], [FitTask(scenario, "logistic_regression", 0, 100)], 0)["versions"]
    assert neural["torch"] == metadata.version("torch")
    assert "torch" not in linear and linear["scikit-learn"] == metadata.version("scikit-learn")


def test_the_numeric_core_is_what_fitting_runs_and_not_the_bookkeeping():
    modules, packages = fitkey.closure("spurbench.harness.fitting")
    for computes in ("harness.fitting", "harness.oracles", "harness.seeding", "evaluation.metrics",
                     "evaluation.fit_checks", "evaluation.adaptation", "evaluation.importance",
                     "generators.base"):
        assert f"spurbench.{computes}" in modules, computes
    for keeps in ("registry", "errors", "harness.store", "harness.spec", "harness.grid",
                  "harness.execution", "harness.fitkey", "evaluation.selection"):
        assert f"spurbench.{keeps}" not in modules, keeps
    assert not any(m.startswith(("spurbench.report", "spurbench.interface")) for m in modules)
    assert {"numpy", "scipy", "scikit-learn"} <= packages and "pandas" not in packages


def _outside_factory(random_state: int) -> LogisticRegression:
    return LogisticRegression(random_state=random_state)


def test_a_model_from_outside_the_package_adds_its_module_source():
    scenario = load_scenario(PACKAGE / "datasets" / "group_shift.toml")
    outside = spurbench.model(_outside_factory, paradigm="discriminative", name="outside")
    task = FitTask(scenario, outside, 0, 100)
    assert __name__ in fitkey.closure(__name__)[0]  # this file, found from its imported module
    assert task.code.source != fitkey.fit_code({}, "group_shift").source
    assert task.code.versions["scikit-learn"] == metadata.version("scikit-learn")
