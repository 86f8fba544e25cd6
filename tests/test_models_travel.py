"""Every way of adding a model works with several workers, because the fit task carries the model.

A user script (a real `__main__`) runs the same grid on two loky workers and on a Dask
LocalCluster with five models, one per way of adding a model: a factory defined in `__main__`,
an estimator object wrapped by `spurbench.model`, a factory decorated in the user's own module,
an entry-point plugin and a `pkg.mod:factory` reference. The command line's `--model` is
checked with `--jobs 2` too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from spec_helpers import write_spec
from test_plugins import PLUGIN_MODULE, write_distribution

USER_MODELS = '''
from sklearn.tree import DecisionTreeClassifier

from spurbench.registry import register_model


@register_model("user_decorated_tree", paradigm="discriminative")
def decorated_tree(random_state):
    """A depth-2 tree registered by the decorator in the user's module."""
    return DecisionTreeClassifier(max_depth=2, random_state=random_state)


def shallow_tree(random_state):
    """A depth-3 tree, named on the command line as mymodels:shallow_tree."""
    return DecisionTreeClassifier(max_depth=3, random_state=random_state)
'''

USER_SCRIPT = '''
import sys

from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

import mymodels  # registers user_decorated_tree
import spurbench


def main_factory(random_state):
    """Defined in __main__: workers cannot import it, so it must travel by value."""
    return GaussianNB(var_smoothing=1e-8)


models = [spurbench.model(main_factory, paradigm="generative", name="main_nb"),
          spurbench.model(LogisticRegression(C=0.5), paradigm="discriminative", name="wrapped_lr"),
          spurbench.model("mymodels:shallow_tree", paradigm="discriminative"),
          "user_decorated_tree", "demo_nb"]
if __name__ == "__main__":
    spec, backend, out = sys.argv[1:]
    # A timeout keeps a grid this small on real workers (small grids may otherwise run in-process).
    rows = spurbench.run(spec, models, seeds=1, jobs=2, backend=backend, out=out, timeout=120)
    print(sorted(set(rows["model"])))
'''

EXPECTED = {"main_nb", "wrapped_lr", "user_decorated_tree", "demo_nb", "mymodels:shallow_tree"}


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    """A user's folder: a script, a module of models and an installed plugin, all on PYTHONPATH."""
    (tmp_path / "mymodels.py").write_text(USER_MODELS)
    (tmp_path / "user_script.py").write_text(USER_SCRIPT)
    write_distribution(tmp_path, "spurbench_demo_plugin", {"spurbench_demo": PLUGIN_MODULE},
                       {"demo_nb": "spurbench_demo:make_demo"})
    write_spec(tmp_path, seeds=1)
    return tmp_path


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=240)


def _assert_all_ok(out: Path, expected: set[str]) -> None:
    rows = pd.read_csv(out / "results.csv")
    assert set(rows["model"]) == expected
    assert (rows["status"] == "ok").all(), rows.loc[rows.status != "ok", ["model", "error"]]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_every_way_of_adding_a_model_runs_on_two_workers(user_dir, backend):
    out = user_dir / f"run_{backend}"
    proc = _run(["user_script.py", str(user_dir / "tiny.toml"), backend, str(out)], user_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_all_ok(out, EXPECTED)


@pytest.mark.slow
def test_cli_model_reference_and_plugin_run_with_two_jobs(user_dir):
    out = user_dir / "cli"
    proc = _run(["-m", "spurbench", "run", str(user_dir / "tiny.toml"), "--models", "demo_nb",
                 "--model", "mymodels:shallow_tree", "--paradigm", "discriminative", "--jobs", "2",
                 "--timeout", "120",
                 "--out", str(out), "--no-report", "--no-progress"], user_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_all_ok(out, {"demo_nb", "mymodels:shallow_tree"})
