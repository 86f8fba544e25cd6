"""What is stored stays right: a damaged store or CSV, a full disk, an interrupted rerun and a failed
Dask connection each give one line and lose nothing; the CSV holds exactly the stored values;
errors can be retried; a failing plugin is skipped; seeds do not depend on numeric types."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB
from spec_helpers import write_spec
from spurbench import harness, registry
from spurbench.harness.seeding import stable_hash
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import read_results, read_sqlite
from spurbench.interface.cli import main
from spurbench.registry import list_models, register_model
from test_plugins import write_distribution

RUN = ["--no-report", "--no-progress", "--jobs", "1"]


def _one_line(capsys, code: int, *needles: str) -> None:
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.fixture
def stored(tiny_spec, tmp_path, capsys):
    """A finished run of one model (2 seeds x 3 levels = 6 rows)."""
    out = tmp_path / "o"
    assert main(["run", str(tiny_spec), "--models", "lda", "--out", str(out), *RUN]) == 0
    capsys.readouterr()
    return out


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
@pytest.mark.parametrize("command", ["resume", "report"])
def test_a_damaged_database_is_one_line_saying_how_to_recover(stored, tiny_spec, capsys, damage,
                                                              command):
    db = stored / "results.sqlite"
    data = db.read_bytes()
    db.write_bytes(b"this is not a database" * 100 if damage == "garbage" else data[:len(data) // 2])
    args = (["run", str(tiny_spec), "--models", "lda", "--out", str(stored), "--resume", *RUN]
            if command == "resume" else ["report", str(stored)])
    _one_line(capsys, main(args), str(db), "damaged", "--overwrite")


@pytest.mark.parametrize("content", ["", "scenario,model\n", "scenario,family,shift,model,seed,n_tr"])
def test_a_damaged_csv_without_its_database_is_one_line(stored, capsys, content):
    (stored / "results.sqlite").unlink()
    (stored / "results.csv").write_text(content)
    _one_line(capsys, main(["report", str(stored)]), "results.csv")


def test_the_report_prefers_the_database_to_a_damaged_csv(stored):
    (stored / "results.csv").write_text("scenario,model\nx,y\n")
    assert len(read_results(stored)) == 6


class _Interrupting(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        raise KeyboardInterrupt


def test_an_interrupted_overwrite_leaves_no_stale_csv(stored, tiny_spec, monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_model("test_interrupting", paradigm="generative")(lambda random_state: _Interrupting())
    with pytest.raises(KeyboardInterrupt):
        harness.run([load_scenario(tiny_spec)], ["test_interrupting"], out_dir=stored,
                    overwrite=True, jobs=1, progress=False)
    assert not (stored / "results.csv").exists() and not (stored / "run.json").exists()
    assert read_results(stored).empty  # none of the earlier run's rows


_FULL_DISK = """
import resource, signal, sys
from spurbench.interface.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk: writes fail with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("limit", [120_000, 200_000])
def test_a_full_disk_is_one_line_and_resume_finishes_the_run(tmp_path, limit):
    spec = write_spec(tmp_path, seeds=40)
    out = tmp_path / "o"
    args = ["run", str(spec), "--models", "lda", "--out", str(out), *RUN]
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, str(limit), *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "disk full" in proc.stderr and "--resume" in proc.stderr
    stored = read_sqlite(out / "results.sqlite")
    assert 0 < len(stored) < 40 * 3 and (stored.status == "ok").all()
    assert main([*args, "--resume"]) == 0
    assert len(read_results(out)) == 40 * 3


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_failed_dask_connection_keeps_the_stored_manifest(stored, tiny_spec, capsys):
    before = read_results(stored)
    code = main(["run", str(tiny_spec), "--models", "lda,gaussian_nb", "--out", str(stored),
                 "--resume", "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9", *RUN])
    _one_line(capsys, code, "--scheduler")
    pd.testing.assert_frame_equal(read_results(stored), before)


def test_the_csv_holds_exactly_the_stored_values(stored):
    from_db = read_sqlite(stored / "results.sqlite")
    from_csv = pd.read_csv(stored / "results.csv")
    numeric = from_db.select_dtypes("number").columns
    pd.testing.assert_frame_equal(from_csv[numeric], from_db[numeric], check_exact=True,
                                  check_dtype=False)


_fail_now = {"value": True}


class _FailsOnce(GaussianNB):
    def fit(self, X, y, sample_weight=None):
        if _fail_now["value"]:
            raise RuntimeError("transient failure")
        return super().fit(X, y, sample_weight)


def test_retry_errors_reruns_only_the_failed_fits(tiny_spec, tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_model("test_fails_once", paradigm="generative")(lambda random_state: _FailsOnce())
    run = [load_scenario(tiny_spec)], ["test_fails_once", "lda"]
    kwargs = {"out_dir": tmp_path / "o", "jobs": 1, "progress": False}
    assert harness.run(*run, **kwargs).failed == 2
    _fail_now["value"] = False
    monkeypatch.setitem(_fail_now, "value", False)
    assert harness.run(*run, resume=True, **kwargs).skipped == 4
    retried = harness.run(*run, resume=True, retry_errors=True, **kwargs)
    assert retried.done == 2 and retried.failed == 0
    assert (read_results(tmp_path / "o").status == "ok").all()


class _BadProba(GaussianNB):
    def __init__(self, how: str = "range"):
        super().__init__()
        self.how = how

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        return proba * 2 - 0.5 if self.how == "range" else proba * 0.9


@pytest.mark.parametrize(("how", "reason"), [("range", "outside [0, 1]"), ("sum", "sum to 1")])
def test_impossible_probabilities_are_stored_as_errors_with_the_reason(tiny_spec, tmp_path,
                                                                       monkeypatch, how, reason):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    register_model("test_bad_proba", paradigm="generative")(lambda random_state: _BadProba(how))
    harness.run([load_scenario(tiny_spec)], ["test_bad_proba"], out_dir=tmp_path / "o", jobs=1,
                progress=False)
    df = read_results(tmp_path / "o")
    assert (df.status == "error").all() and df.error.str.contains(reason, regex=False).all()


@pytest.mark.parametrize("body", ["import sys\nsys.exit(3)\n", "raise SystemExit\n",
                                  "class Odd(BaseException): pass\nraise Odd('odd')\n"])
def test_a_plugin_that_exits_or_raises_anything_at_import_is_skipped_with_a_warning(
        tmp_path, monkeypatch, body):
    list_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    write_distribution(tmp_path, "spurbench_exiting", {"spurbench_exiting": body},
                       {"exiting": "spurbench_exiting:f"})
    monkeypatch.syspath_prepend(str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = [e.name for e in list_models()]
    sys.modules.pop("spurbench_exiting", None)
    assert "lda" in names and "exiting" not in names
    assert any("'exiting'" in str(w.message) and "skipped" in str(w.message) for w in caught)


@pytest.mark.parametrize(("a", "b"), [(3, np.int64(3)), (1, 1.0), (np.float32(0.5), 0.5),
                                      ((1, 2), [np.int32(1), 2.0]), (True, np.bool_(True))])
def test_seeds_hash_by_value_not_by_numeric_type(a, b):
    assert stable_hash("scenario", a, "train") == stable_hash("scenario", b, "train")
    assert stable_hash("scenario", 3) != stable_hash("scenario", 4)


def test_a_csv_written_by_the_run_reads_back_through_the_cli_report_path(stored):
    os.remove(stored / "results.sqlite")
    assert len(read_results(stored)) == 6


def test_a_run_kept_as_parquet_alone_reads_back_as_its_csv_would(stored):
    # The committed reference run keeps only results.parquet (a sixth of the CSV's size).
    from_csv = read_results_without_database(stored)
    (stored / "results.csv").unlink()
    pd.testing.assert_frame_equal(read_results(stored), from_csv, check_exact=True)


def test_a_damaged_parquet_alone_is_one_line(stored, capsys):
    (stored / "results.sqlite").unlink()
    (stored / "results.csv").unlink()
    (stored / "results.parquet").write_bytes(b"PAR1 not really")
    _one_line(capsys, main(["report", str(stored)]), "results.parquet")


def read_results_without_database(run_dir):
    """What the report reads from the exports once the database is gone."""
    (run_dir / "results.sqlite").unlink()
    return read_results(run_dir)


def test_the_database_reads_back_exactly_as_its_csv(stored):
    # The report reads SQLite when present, else the CSV, else the parquet: one frame either way.
    from_db = read_results(stored)
    assert_same = pd.testing.assert_frame_equal
    assert_same(from_db, read_results_without_database(stored), check_exact=True)


@pytest.mark.parametrize("flag", ["--resume", "--overwrite"])
def test_a_store_written_before_a_column_existed_is_brought_up_to_date(stored, tiny_spec, capsys, flag):
    import sqlite3

    with sqlite3.connect(stored / "results.sqlite") as conn:  # as an earlier version wrote it
        for table in ("results", "selected"):
            conn.execute(f'ALTER TABLE {table} DROP COLUMN "selection"')
    assert main(["run", str(tiny_spec), "--models", "lda", "--out", str(stored), flag, *RUN]) == 0
    rows = read_results(stored)
    assert len(rows) == 6 and set(rows["selection"]) == {"fixed"}
    assert rows["seed"].tolist() == read_results(stored)["seed"].tolist()


def test_protocol_rows_read_back_from_a_migrated_store(tmp_path):
    """Migrated columns sit at the end of `results` but in their place in a new `selected`
    table: reading must go by name, not by position."""
    import sqlite3

    from test_selection import SPEC

    spec = write_spec(tmp_path, "select", body=SPEC)
    out = tmp_path / "o"
    assert main(["run", str(spec), "--out", str(out), *RUN]) == 0
    before = read_results(out)
    with sqlite3.connect(out / "results.sqlite") as conn:  # as an earlier version wrote it
        conn.execute("DROP TABLE selected")
        for column in ("selection", "config"):
            conn.execute(f'ALTER TABLE results DROP COLUMN "{column}"')
    assert main(["run", str(spec), "--out", str(out), "--overwrite", *RUN]) == 0
    timings = ["fit_seconds", "predict_seconds"]  # refitted: every number but the clock repeats
    pd.testing.assert_frame_equal(read_results(out).drop(columns=timings), before.drop(columns=timings))
