"""Bad input, whatever its kind, gets one line naming the file or flag and the field, exit status 2,
no traceback, and nothing written to the results directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from spec_helpers import TINY_SPEC, write_spec

from benchmark.cli import main

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
