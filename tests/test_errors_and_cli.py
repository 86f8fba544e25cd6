"""Bad input gives one line naming the file and field, exit status 2, no traceback, no damage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from spec_helpers import TINY_SPEC, write_spec
from spurbench.errors import SpecError
from spurbench.harness.spec import load_scenario
from spurbench.interface.cli import main


def _spec_with(tmp_path: Path, old: str, new: str) -> Path:
    body = TINY_SPEC.format(name="bad", n_train="100", seeds=1).replace(old, new)
    assert body != TINY_SPEC.format(name="bad", n_train="100", seeds=1), "replacement did not apply"
    return write_spec(tmp_path, "bad", body=body)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("train_correlation = 0.9", "train_correlation = 1.5", "params.train_correlation"),
        ("train_correlation = 0.9", "train_correlation = -0.1", "params.train_correlation"),
        ("n_noise = 1", "n_noise = -3", "params.n_noise"),
        ("n_noise = 1", "colour = 3", "params.colour"),
        ('family = "gaussian_spurious"', 'family = "gaussian_spurius"', "scenario.family"),
        ("levels = [0.0, 0.5, 1.0]", "levels = [0.0, 1.5]", "shift.levels"),
        ("levels = [0.0, 0.5, 1.0]", "levels = [0.5, 1.0]", "shift.levels"),
        ("n_train = [100]", "n_train = [-5]", "run.n_train"),
        ("n_train = [100]", "n_train = [0]", "run.n_train"),
        ("n_test = 400", "n_test = 0", "run.n_test"),
        ("seeds = 1", "seeds = 2.5", "run.seeds"),
        ("n_test = 400", "n_test = 400\ncolour = 1", "run.colour"),
    ],
)
def test_invalid_spec_field_is_named_with_the_file(tmp_path, old, new, field):
    path = _spec_with(tmp_path, old, new)
    with pytest.raises(SpecError) as err:
        load_scenario(path)
    assert str(path) in str(err.value)
    assert field in str(err.value)


def test_malformed_toml_names_the_file(tmp_path):
    path = write_spec(tmp_path, "broken", body="[scenario\nname = 'x'\n")
    with pytest.raises(SpecError, match="malformed TOML") as err:
        load_scenario(path)
    assert str(path) in str(err.value)


def test_unknown_family_suggests_the_close_name(tmp_path):
    path = _spec_with(tmp_path, 'family = "gaussian_spurious"', 'family = "gausian_spurious"')
    with pytest.raises(SpecError, match="Did you mean 'gaussian_spurious'"):
        load_scenario(path)


def test_cli_bad_spec_exits_2_with_one_line_and_keeps_stored_results(tmp_path, capsys):
    good = write_spec(tmp_path, "good", seeds=1)
    out = tmp_path / "run"
    assert main(["run", str(good), "--models", "gaussian_nb", "--out", str(out), "--jobs", "1",
                 "--no-report", "--no-progress"]) == 0
    before = (out / "results.csv").read_bytes()
    db_before = (out / "results.sqlite").stat().st_size
    capsys.readouterr()
    bad = _spec_with(tmp_path, "train_correlation = 0.9", "train_correlation = 1.5")
    code = main(["run", str(bad), "--out", str(out), "--overwrite", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "params.train_correlation" in err and str(bad) in err
    assert (out / "results.csv").read_bytes() == before
    assert (out / "results.sqlite").stat().st_size == db_before


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--models", "gausian_nb"], "Did you mean 'gaussian_nb'"),
        (["--model", "no_such_module:factory"], "cannot import"),
        (["--seeds", "0"], "--seeds"),
        (["--jobs", "0"], "--jobs"),
        (["--timeout", "-1"], "--timeout"),
    ],
)
def test_cli_bad_options_exit_2_without_traceback(tiny_spec, tmp_path, args, needle):
    proc = subprocess.run(
        [sys.executable, "-m", "spurbench", "run", str(tiny_spec), "--out", str(tmp_path / "o"),
         *args],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o" / "results.csv").exists()


def test_rerun_without_resume_or_overwrite_is_refused(tiny_spec, tmp_path, capsys):
    args = ["run", str(tiny_spec), "--models", "lda", "--out", str(tmp_path / "o"), "--jobs", "1",
            "--no-report", "--no-progress"]
    assert main(args) == 0
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err


def test_validate_reports_each_spec(tiny_spec, capsys):
    assert main(["validate", str(tiny_spec)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_reports_every_error_of_a_file_at_once_and_run_names_the_first(tmp_path, capsys):
    bad = TINY_SPEC.format(name="bad", n_train="-3", seeds=0).replace(
        "train_correlation = 0.9", "train_correlation = 1.5").replace("[0.0, 0.5, 1.0]", "[0.0, 2.0]")
    path = write_spec(tmp_path, "bad", body=bad + "colour = 1\n")
    good = write_spec(tmp_path, "good")
    assert main(["validate", str(path), str(good)]) == 2
    out, err = capsys.readouterr()
    fields = [line.split(": ")[3] for line in err.strip().splitlines()]
    assert fields == ["run.colour", "params.train_correlation", "shift.levels", "run.n_train",
                      "run.seeds"]
    assert "ok" in out and "good" in out  # the other file is still checked
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "run.colour" in err and "and 4 more" in err


def test_list_models_shows_both_paradigms(capsys):
    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out
    assert "generative" in out and "discriminative" in out and "gaussian_nb" in out


def test_list_generators_and_scenarios(capsys):
    assert main(["list", "generators"]) == 0
    assert "gaussian_spurious" in capsys.readouterr().out
    assert main(["list", "scenarios"]) == 0
    assert "spurious_gaussian" in capsys.readouterr().out


def test_explain_prints_each_feature_with_its_role(tiny_spec, capsys):
    assert main(["explain", "logistic_regression", "--scenario", str(tiny_spec)]) == 0
    out = capsys.readouterr().out
    assert "spurious" in out and "core" in out and "share by role" in out


def test_sample_writes_csv_and_figure(tiny_spec, tmp_path, capsys):
    assert main(["sample", "gaussian_nb", "--scenario", str(tiny_spec), "--n", "5",
                 "--out", str(tmp_path)]) == 0
    csv = next(tmp_path.glob("*.csv"))
    assert len(csv.read_text().splitlines()) == 1 + 2 * 5
    assert next(tmp_path.glob("*.png")).stat().st_size > 0


def test_sample_refuses_a_model_without_the_sample_tag(tiny_spec, tmp_path, capsys):
    assert main(["sample", "random_forest", "--scenario", str(tiny_spec), "--out",
                 str(tmp_path)]) == 2
    assert "gaussian_nb" in capsys.readouterr().err


def test_help_lists_every_subcommand_and_a_paradigm_error_offers_only_what_argparse_accepts(
        tmp_path, monkeypatch, capsys):
    from spurbench.interface.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # the subcommands argparse dispatches
    text = parser.format_help()
    assert {"leaderboard", "check-model"} <= set(commands) and all(c in text for c in commands)
    (tmp_path / "user_models_for_paradigm.py").write_text(
        "from sklearn.naive_bayes import GaussianNB\n\n\ndef bad(random_state=None):\n"
        "    return GaussianNB()\n\n\nbad.paradigm = 'bayesian'\n\n\ndef plain(random_state=None):\n"
        "    return GaussianNB()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    choices = next(a.choices for a in commands["check-model"]._actions if a.dest == "paradigm")
    for factory, what in (("bad", "paradigm 'bayesian' is not allowed"), ("plain", "plain has no")):
        assert main(["check-model", f"user_models_for_paradigm:{factory}"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"spurbench: error: model 'user_models_for_paradigm:{factory}': {what}")
        offered = err.split("--paradigm ")[1].split("|")
        assert "\n" not in err and offered == list(choices) and "oracle" not in err
