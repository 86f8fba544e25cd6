"""Models from outside the repo: entry-point plugins (real installed-distribution metadata on
sys.path), `package.module:factory` references, and clear errors for bad names and paradigms."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from spurbench import registry
from spurbench.errors import SpurbenchError, UnknownNameError
from spurbench.registry import get_model, list_models, load_model_reference, register_model

PLUGIN_MODULE = '''
from sklearn.naive_bayes import GaussianNB


def make_demo(random_state):
    """Demo plugin model: sklearn's GaussianNB."""
    return GaussianNB()


make_demo.paradigm = "generative"
make_demo.tags = ("prior_shift",)


def no_paradigm(random_state):
    """A factory that does not say which paradigm it belongs to."""
    return GaussianNB()
'''

SELF_REGISTERING_MODULE = '''
from sklearn.linear_model import LogisticRegression

from spurbench.registry import register_model


@register_model("demo_registered", paradigm="discriminative")
def make(random_state):
    """Demo plugin that registers itself with the decorator."""
    return LogisticRegression()
'''

BROKEN_MODULE = 'raise RuntimeError("this plugin is broken on purpose")\n'


def write_distribution(root: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str]) -> Path:
    """An installed distribution as pip leaves it: modules plus `<dist>-<version>.dist-info/`."""
    for name, source in modules.items():
        (root / f"{name}.py").write_text(textwrap.dedent(source))
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{registry.ENTRY_POINT_GROUP}]\n{lines}")
    return root


@pytest.fixture
def isolated_registry(monkeypatch):
    """A private copy of the model registry, plugins not yet scanned; restored afterwards."""
    list_models()  # built-ins (and any plugin already installed) into the real registry first
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    return monkeypatch


PLUGIN_MODULES = {"spurbench_demo": PLUGIN_MODULE, "spurbench_demo_registered": SELF_REGISTERING_MODULE,
                  "spurbench_demo_broken": BROKEN_MODULE}


@pytest.fixture
def plugin_path(tmp_path, isolated_registry):
    """The demo distribution on sys.path; its modules are forgotten afterwards so that the next
    test imports (and so registers) them afresh."""
    root = write_distribution(
        tmp_path, "spurbench_demo_plugin", PLUGIN_MODULES,
        {"demo_nb": "spurbench_demo:make_demo",
         "demo_registered": "spurbench_demo_registered:make",
         "demo_broken": "spurbench_demo_broken:factory"})
    isolated_registry.syspath_prepend(str(root))
    yield root
    for name in PLUGIN_MODULES:
        sys.modules.pop(name, None)


def test_entry_point_plugin_appears_in_list_models_with_its_paradigm_tags_and_description(plugin_path):
    with pytest.warns(UserWarning, match="demo_broken"):
        entries = {e.name: e for e in list_models()}
    demo = entries["demo_nb"]
    assert (demo.paradigm, demo.tags) == ("generative", frozenset({"prior_shift"}))
    assert demo.description == "Demo plugin model: sklearn's GaussianNB."
    assert type(get_model("demo_nb").build(random_state=0)).__name__ == "GaussianNB"
    assert entries["demo_registered"].paradigm == "discriminative"


def test_broken_plugin_only_warns_naming_itself_and_is_skipped(plugin_path):
    with pytest.warns(UserWarning, match=r"'demo_broken'.*skipped.*broken on purpose"):
        names = {e.name for e in list_models()}
    assert "demo_broken" not in names
    assert {"demo_nb", "gaussian_nb", "logistic_regression"} <= names


def test_plugins_are_scanned_once_until_reset(plugin_path, isolated_registry):
    with pytest.warns(UserWarning, match="demo_broken"):
        list_models()
    isolated_registry.delitem(registry._MODELS, "demo_nb")
    assert "demo_nb" not in {e.name for e in list_models()}  # cached: no second scan, no warning
    registry.reset_plugins()
    with pytest.warns(UserWarning, match="demo_broken"):
        assert "demo_nb" in {e.name for e in list_models()}


def test_model_reference_takes_the_paradigm_from_the_factory_or_the_argument(plugin_path):
    entry = load_model_reference("spurbench_demo:make_demo")
    assert (entry.name, entry.paradigm) == ("spurbench_demo:make_demo", "generative")
    assert get_model("spurbench_demo:make_demo") is entry
    assert load_model_reference("spurbench_demo:no_paradigm", "discriminative").paradigm == "discriminative"


@pytest.mark.parametrize(("ref", "paradigm", "needle"), [
    ("spurbench_demo:no_paradigm", None, "no `paradigm` attribute"),
    ("spurbench_demo:make_demo", "bayesian", "paradigm 'bayesian' is not allowed"),
    ("spurbench_demo:missing_factory", None, "cannot import"),
    ("spurbench_no_such_module:factory", None, "cannot import"),
    ("spurbench_demo", None, "expected 'package.module:factory'"),
])
def test_bad_model_references_are_clear_errors(plugin_path, ref, paradigm, needle):
    with pytest.raises(SpurbenchError, match=needle):
        load_model_reference(ref, paradigm)


def test_unknown_model_name_suggests_close_matches_and_lists_all():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'gaussian_nb'.*Known: .*lda"):
        get_model("gausian_nb")


@pytest.mark.parametrize(("kwargs", "needle"), [
    ({"paradigm": "bayesian"}, "paradigm 'bayesian' is not allowed"),
    ({"paradigm": "generative", "tags": {"sampling"}}, "unknown tags"),
])
def test_register_model_rejects_bad_paradigms_and_tags(isolated_registry, kwargs, needle):
    with pytest.raises(SpurbenchError, match=needle):
        register_model("demo_bad", **kwargs)


def test_registering_a_different_factory_under_a_taken_name_is_an_error(isolated_registry):
    with pytest.raises(SpurbenchError, match="registered twice"):
        register_model("lda", paradigm="generative")(lambda random_state: None)


# ---- the same through the command line (real subprocesses) ---------------------------------

def _cli(*args: str, pythonpath: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(pythonpath), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "spurbench", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=180)


def test_cli_lists_plugin_models_and_warns_about_the_broken_one(plugin_path, tmp_path):
    proc = _cli("list", "models", pythonpath=plugin_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines()[1:]}
    assert {"demo_nb", "demo_registered", "gaussian_nb"} <= listed
    assert "demo_broken" not in listed
    assert "demo_broken" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_quick_run_scores_an_entry_point_model_and_a_model_reference(plugin_path, tiny_spec, tmp_path):
    out = tmp_path / "run"
    proc = _cli("run", str(tiny_spec), "--quick", "--models", "demo_nb", "--model",
                "spurbench_demo:no_paradigm", "--paradigm", "discriminative", "--jobs", "1",
                "--out", str(out), "--no-report", "--no-progress", pythonpath=plugin_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(out / "results.csv")
    assert set(rows["model"]) == {"demo_nb", "spurbench_demo:no_paradigm"}
    assert (rows["status"] == "ok").all()
    assert set(rows.loc[rows.model == "spurbench_demo:no_paradigm", "paradigm"]) == {"discriminative"}
