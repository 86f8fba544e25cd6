"""Bad input, whatever its kind, gets one line naming the file or flag and the field, exit status 2,
no traceback, and nothing written to the results directory (an existing run's files are left
byte for byte as they were)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest
from spec_helpers import TINY_SPEC, write_spec
from spurbench import registry
from spurbench.errors import ModelError
from spurbench.interface.cli import main

RUN = ["--no-report", "--no-progress", "--jobs", "1"]


def _refused(capsys, args: list[str], *needles: str) -> None:
    """`spurbench ARGS` exits 2 with exactly one line holding every needle (argparse's own
    refusals print their usage line first)."""
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if not line.startswith(("usage:", " "))]
    assert code == 2, captured
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], (needle, captured.err)


UNREADABLE = {
    "binary": b"\x00\x01\xff\xfe\x89PNG\r\n",
    "latin1": '[scenario]\nname = "caf\xe9"\n'.encode("latin-1"),
    "deep_tables": ("x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n").encode(),
    "deep_arrays": ("x = " + "[" * 1000 + "]" * 1000 + "\n").encode(),
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_a_spec_that_is_not_readable_toml_is_one_line_naming_the_file(tmp_path, capsys, kind):
    spec = tmp_path / "bad.toml"
    spec.write_bytes(UNREADABLE[kind])
    _refused(capsys, ["run", str(spec), "--out", str(tmp_path / "o"), *RUN], str(spec))
    _refused(capsys, ["validate", str(spec)], str(spec))
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("kind", ["loop", "directory"])
def test_a_symlink_loop_or_a_directory_named_like_a_spec_is_one_line(tmp_path, capsys, kind):
    spec = tmp_path / "a.toml"
    if kind == "loop":
        spec.symlink_to(tmp_path / "b.toml")
        (tmp_path / "b.toml").symlink_to(spec)
    else:
        (tmp_path / "x").mkdir()
        spec.symlink_to(tmp_path / "x" / "missing.toml")
    _refused(capsys, ["validate", str(spec)], str(spec))


@pytest.mark.parametrize(
    ("edits", "field"),
    [
        ({"n_noise = 1": "n_noise = 1_000_000_000"}, "params.n_noise"),
        ({"n_train = [100]": "n_train = [1_000_000_000_000]"}, "run.n_train"),
        ({"n_test = 400": "n_test = 1_000_000_000_000"}, "run.n_test"),
        ({"seeds = 1": "seeds = 1_000_000_000"}, "run.seeds"),
        ({"n_noise = 1": "n_noise = 10000", "n_train = [100]": "n_train = [1000000]"},
         "run.n_train"),  # every bound holds, but the largest fit needs terabytes
        ({'name = "bad"': f'name = "{"x" * 5000}"'}, "scenario.name"),
        ({'name = "bad"': 'name = "../../etc/passwd"'}, "scenario.name"),
        ({"seeds = 1": "seeds = 1\nmodels = []"}, "run.models"),
        ({"seeds = 1": 'seeds = 1\nmodels = ["this:x"]'}, "run.models"),
        ({"seeds = 1": 'seeds = 1\nselection = "yes"'}, "run.selection"),
    ],
)
def test_out_of_bounds_spec_fields_are_refused_naming_file_and_field(tmp_path, capsys, edits, field):
    body = TINY_SPEC.format(name="bad", n_train="100", seeds=1)
    for old, new in edits.items():
        body = body.replace(old, new)
    spec = write_spec(tmp_path, "bad", body=body)
    _refused(capsys, ["run", str(spec), "--out", str(tmp_path / "o"), *RUN], str(spec), field)
    assert not (tmp_path / "o").exists()


def test_a_spec_never_imports_code_named_in_run_models(tmp_path, capsys, monkeypatch):
    (tmp_path / "spurbench_evil.py").write_text(
        f"open({str(tmp_path / 'imported')!r}, 'w').close()\ndef f(random_state): pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    body = TINY_SPEC.format(name="bad", n_train="100", seeds=1).replace(
        "seeds = 1", 'seeds = 1\nmodels = ["spurbench_evil:f"]')
    spec = write_spec(tmp_path, "bad", body=body)
    _refused(capsys, ["validate", str(spec)], "run.models", "registered")
    assert not (tmp_path / "imported").exists()


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--models", ""], "--models"),
        (["--models", " , "], "--models"),
        (["--timeout", "inf"], "--timeout"),
        (["--timeout", "1e12"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--seeds", "1000000000"], "--seeds"),
        (["--model", ".rel:f"], "--model"),
        (["--model", "os.path:sep", "--paradigm", "generative"], "not a callable"),
        (["--backend", "dask", "--scheduler", "garbage"], "--scheduler"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler"),
        (["--retry-errors"], "--retry-errors"),
    ],
)
def test_bad_flags_are_one_line_naming_the_flag(tiny_spec, tmp_path, capsys, args, flag):
    out = tmp_path / "o"
    _refused(capsys, ["run", str(tiny_spec), "--out", str(out), *RUN, *args], flag)
    assert not out.exists()


@pytest.mark.parametrize("kind", ["existing_file", "under_a_file", "unwritable"])
def test_an_unusable_out_is_one_line(tiny_spec, tmp_path, capsys, kind):
    (tmp_path / "file").write_text("not a directory")
    out = {"existing_file": tmp_path / "file", "under_a_file": tmp_path / "file" / "run",
           "unwritable": Path("/proc/spurbench-run")}[kind]
    _refused(capsys, ["run", str(tiny_spec), "--models", "lda", "--out", str(out), *RUN],
             str(out))
    assert (tmp_path / "file").read_text() == "not a directory"


@pytest.mark.parametrize("name", ["run#1", "what?", "100%", "a%20b"])
def test_out_with_uri_characters_works_and_leaves_no_stray_file(tiny_spec, tmp_path, capsys, name):
    out = tmp_path / name
    before = set(os.listdir(tmp_path))
    assert main(["run", str(tiny_spec), "--models", "lda", "--out", str(out), *RUN]) == 0
    assert set(os.listdir(tmp_path)) - before == {name}
    assert (out / "results.csv").read_text().count("\n") == 1 + 2 * 3


USER_MODELS = '''
from sklearn.naive_bayes import GaussianNB


class FitRaises(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        raise RuntimeError("fit is broken on purpose\\nsecond line of the message")


def fit_raises(random_state):
    return FitRaises()


def factory_raises(random_state):
    raise RuntimeError("no licence server")


def returns_text(random_state):
    return "a classifier, honestly"


for _factory in (fit_raises, factory_raises, returns_text):
    _factory.paradigm = "generative"
'''


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    """A module of model factories on sys.path; the references it registers stay private."""
    (tmp_path / "spurbench_user_models.py").write_text(USER_MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.list_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    yield "spurbench_user_models"
    sys.modules.pop("spurbench_user_models", None)


def _files(run_dir: Path) -> dict[str, bytes]:
    """Every file of a run directory and its bytes. SQLite's side files (-wal, -shm) are left
    out: opening the store to read it may create them, and they hold no stored row."""
    return {p.name: p.read_bytes() for p in sorted(run_dir.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


@pytest.fixture
def stored_run(tiny_spec, tmp_path) -> Path:
    """A finished run directory (lda on the tiny spec): bad input must leave it as it is."""
    out = tmp_path / "stored"
    assert main(["run", str(tiny_spec), "--models", "lda", "--out", str(out), *RUN]) == 0
    return out


def test_a_report_over_a_run_whose_every_fit_failed_is_one_line_and_writes_nothing(
        tiny_spec, tmp_path, capsys, user_models):
    out = tmp_path / "failed"
    args = ["run", str(tiny_spec), "--model", f"{user_models}:fit_raises", "--out", str(out), *RUN]
    assert main(args) == 0  # the fits fail in the harness: error rows, as a run stores them
    capsys.readouterr()
    before = _files(out)
    # the tiny spec has 2 seeds x 1 n_train = 2 fits; the stored error's first line is quoted
    _refused(capsys, ["report", str(out)], str(out), "every fit failed", "2 of 2",
             "RuntimeError: fit is broken on purpose")
    assert _files(out) == before  # no figure, table or report.md, and the rows are untouched


@pytest.mark.parametrize(
    ("ref", "needles"),
    [
        ("os:getcwd", ["--model 'os:getcwd'", "TypeError", "random_state"]),
        ("builtins:dict", ["--model 'builtins:dict'", "returned a dict, not a classifier",
                           "fit, predict_proba"]),
        ("{module}:returns_text", ["--model '{module}:returns_text'", "returned a str"]),
        ("{module}:factory_raises", ["--model '{module}:factory_raises'",
                                     "RuntimeError: no licence server"]),
    ],
)
def test_a_model_factory_that_raises_or_builds_no_classifier_is_one_line_before_any_fit(
        tiny_spec, stored_run, capsys, user_models, ref, needles):
    before = _files(stored_run)
    ref = ref.format(module=user_models)
    args = ["run", str(tiny_spec), "--model", ref, "--paradigm", "discriminative",
            "--out", str(stored_run), "--resume", *RUN]
    _refused(capsys, args, *(n.format(module=user_models) for n in needles))
    assert _files(stored_run) == before


@pytest.mark.parametrize("how", ["reference", "entry"])
@pytest.mark.parametrize(("factory", "needle"), [("factory_raises", "RuntimeError: no licence server"),
                                                 ("returns_text", "not a classifier")])
def test_run_models_refuses_a_factory_that_raises_or_builds_no_classifier_naming_it(
        tiny_spec, stored_run, user_models, how, factory, needle):
    import spurbench

    before = _files(stored_run)
    ref = f"{user_models}:{factory}"
    model = ref if how == "reference" else spurbench.model(
        getattr(importlib.import_module(user_models), factory), paradigm="generative", name=ref)
    with pytest.raises(ModelError, match=f"model '{ref}'") as refused:
        spurbench.run(tiny_spec, ["lda", model], out=stored_run, resume=True, jobs=1)
    assert needle in str(refused.value) and "\n" not in str(refused.value)
    assert _files(stored_run) == before


def _oracle_only(directory: Path, family: str = "gaussian_spurious") -> Path:
    body = TINY_SPEC.format(name="only_oracle", n_train="100", seeds=1).replace(
        "gaussian_spurious", family).replace("seeds = 1", 'seeds = 1\nmodels = ["bayes_oracle"]')
    return write_spec(directory, "only_oracle", body=body)


@pytest.mark.parametrize("case", ["no_toml", "empty_folder", "no_common_model", "oracle_on_real_data"])
def test_a_grid_without_fits_names_each_spec_file_and_why_it_contributes_nothing(
        tmp_path, stored_run, capsys, case):
    folder = tmp_path / "specs"
    folder.mkdir()
    extra: list[str] = []
    if case == "no_toml":  # a spec saved under another suffix is not a scenario file
        (folder / "tiny.TOML").write_text(TINY_SPEC.format(name="tiny", n_train="100", seeds=1))
        needles = [str(folder), "no scenario file (*.toml)", "tiny.TOML"]
    elif case == "empty_folder":
        needles = [str(folder), "no scenario file (*.toml)", "it is empty"]
    elif case == "no_common_model":
        spec = _oracle_only(folder)
        extra = ["--models", "lda"]
        needles = ["the grid is empty", str(spec), "run.models ['bayes_oracle']", "['lda']"]
    else:
        body = TINY_SPEC.format(name="real", n_train="100", seeds=1).replace(
            'family = "gaussian_spurious"', 'family = "tabular_injection"').replace(
            "train_correlation = 0.9\nn_noise = 1", "").replace(
            "seeds = 1", 'seeds = 1\nmodels = ["bayes_oracle"]')
        spec = write_spec(folder, "real", body=body)
        needles = ["the grid is empty", str(spec), "'bayes_oracle'", "tabular_injection",
                   "posterior is unknown"]
    before = _files(stored_run)
    _refused(capsys, ["run", str(folder), "--out", str(stored_run), "--resume", *RUN, *extra],
             *needles)
    assert _files(stored_run) == before
    if case in ("no_toml", "empty_folder", "oracle_on_real_data"):
        _refused(capsys, ["validate", str(folder)], *needles[1:])
