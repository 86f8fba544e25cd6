"""The results store: one SQLite file per run directory, exported to CSV.

Each finished fit's rows are written in one transaction together with its key in `fits`, so an
interrupted run loses only what was in flight, and `--resume` skips exactly the stored fits.
A run holds an exclusive lock on the directory (`.lock`, removed when the run ends): a second
writer is refused with a clear message. The database is in WAL mode while a run writes and back
in rollback mode when it ends, so a finished run directory holds no `-wal` or `-shm` file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from spurbench.errors import SpurbenchError

DB_NAME = "results.sqlite"
CSV_NAME = "results.csv"
PARQUET_NAME = "results.parquet"
META_NAME = "run.json"
LOCK_NAME = ".lock"

# Column name -> SQLite type; the order is the CSV's column order.
COLUMNS: dict[str, str] = {
    "scenario": "TEXT", "family": "TEXT", "shift": "REAL", "model": "TEXT", "paradigm": "TEXT",
    "group": "TEXT", "reference": "INTEGER", "selection": "TEXT", "config": "TEXT",
    "seed": "INTEGER", "n_train": "INTEGER", "n_test": "INTEGER",
    "accuracy": "REAL", "balanced_accuracy": "REAL", "worst_group_accuracy": "REAL",
    "log_loss": "REAL", "brier": "REAL", "ece": "REAL", "auroc": "REAL",
    "spurious_reliance": "REAL", "spurious_importance": "REAL",
    "bayes_accuracy": "REAL", "invariant_accuracy": "REAL",
    "bayes_accuracy_se": "REAL", "invariant_accuracy_se": "REAL", "majority_accuracy": "REAL",
    "train_accuracy": "REAL", "train_worst_group_accuracy": "REAL", "val_accuracy": "REAL",
    "val_worst_group_accuracy": "REAL", "val_worst_class_accuracy": "REAL",
    "fit_flags": "TEXT", "missing_handling": "TEXT", "fit_seconds": "REAL", "predict_seconds": "REAL",
    "status": "TEXT", "error": "TEXT", "fit_key": "TEXT", "scenario_hash": "TEXT",
}
METRIC_COLUMNS = ("accuracy", "balanced_accuracy", "worst_group_accuracy", "log_loss", "brier",
                  "ece", "auroc", "spurious_reliance", "spurious_importance", "bayes_accuracy",
                  "invariant_accuracy", "bayes_accuracy_se", "invariant_accuracy_se",
                  "majority_accuracy", "train_accuracy", "train_worst_group_accuracy", "val_accuracy",
                  "val_worst_group_accuracy", "val_worst_class_accuracy")
# The value of a column added since an earlier version, for the rows that version stored.
EARLIER_ROWS = {"selection": "fixed", "config": "{}"}
EXPORT_ROWS = 1_000  # rows an export holds in memory at a time (flat memory on any grid)
SORT_ORDER = ["scenario", "model", "selection", "config", "n_train", "seed", "shift"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS results ({", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())});
CREATE INDEX IF NOT EXISTS results_fit ON results(fit_key);
CREATE TABLE IF NOT EXISTS selected ({", ".join(f'"{c}" {t}' for c, t in COLUMNS.items())});
CREATE TABLE IF NOT EXISTS fits (fit_key TEXT PRIMARY KEY, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifest (fit_key TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreLockedError(SpurbenchError):
    """Another process is writing to the same run directory."""


_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A full disk (or a file-size limit) is the user's to fix, and loses nothing committed:
    say so in one line instead of a traceback."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        if isinstance(exc, OSError):
            full, reason = exc.errno in _FULL, exc.strerror
        else:
            full, reason = "full" in str(exc) or "disk I/O" in str(exc), str(exc)
        if not full:
            raise
        raise SpurbenchError(f"{path}: disk full ({reason}); every fit stored so far is intact: "
                             "free some space and rerun with --resume") from None


def _damaged(db_path: Path, exc: Exception) -> SpurbenchError:
    return SpurbenchError(f"{db_path}: the results database is damaged ({exc}); restore it from "
                          "a copy, or move it away and rerun with --overwrite")


def _connect_read_only(db_path: Path) -> sqlite3.Connection:
    """A read-only connection; the path is escaped, so '#', '?' or '%' in it are file names."""
    return sqlite3.connect(f"file:{quote(str(db_path.resolve()))}?mode=ro", uri=True)


def _clean(value: Any) -> Any:
    """SQLite stores NaN as NULL; keep it explicit so CSV round-trips are exact."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


class ResultStore:
    """Writer for one run directory. Use as a context manager: it holds the directory lock."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.db_path = self.run_dir / DB_NAME
        self._lock_file = None
        self.conn: sqlite3.Connection | None = None

    def __enter__(self) -> ResultStore:
        self._lock_file = self._lock()
        self.conn = sqlite3.connect(self.db_path, timeout=60)
        try:
            with _writing(self.db_path):
                check = self.conn.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise sqlite3.DatabaseError(check)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.executescript(_SCHEMA)
                self._add_missing_columns()
        except sqlite3.DatabaseError as exc:
            self.__exit__()
            raise _damaged(self.db_path, exc) from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def _lock(self) -> io.TextIOWrapper:
        """The directory's `.lock`, held exclusively. It is removed on release, so a lock taken on
        a file that its holder removed meanwhile (between our open and our flock) is taken again
        on the file now at that path."""
        path = self.run_dir / LOCK_NAME
        while True:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                lock = path.open("w")
            except OSError as exc:  # a file in the way, a path under a file, no permission
                raise SpurbenchError(f"{self.run_dir}: cannot be used as a run directory "
                                     f"({exc.strerror or exc}); pick another --out") from None
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                raise StoreLockedError(f"{self.run_dir}: another spurbench run is writing here; "
                                       "wait for it or use --out") from None
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino:
                    return lock
            lock.close()

    def __exit__(self, *exc: object) -> None:
        if self.conn is not None:
            # back to a rollback journal: the WAL is checkpointed and its -wal/-shm files removed,
            # and the read-only readers of a finished run create none. Another open connection
            # (a reader meanwhile) keeps WAL mode, which is as correct, only untidier.
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA journal_mode=DELETE")
            self.conn.close()
            self.conn = None
        if self._lock_file is not None:
            (self.run_dir / LOCK_NAME).unlink(missing_ok=True)  # before unlocking: see `_lock`
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _add_missing_columns(self) -> None:
        """Bring a store written by an earlier version up to `COLUMNS`: added columns hold what
        they mean for the old rows (`EARLIER_ROWS`), else NULL. Fits whose key changed since are
        recomputed by `--resume` as usual."""
        for table in ("results", "selected"):
            present = {row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")}
            for column, kind in COLUMNS.items():
                if column not in present:
                    self.conn.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}')
                    if column in EARLIER_ROWS:
                        self.conn.execute(f'UPDATE {table} SET "{column}" = ?', (EARLIER_ROWS[column],))

    def has_results(self) -> bool:
        return self.conn.execute("SELECT EXISTS(SELECT 1 FROM fits)").fetchone()[0] == 1

    def clear(self) -> None:
        """Forget every stored row (a fresh run in the same directory)."""
        with _writing(self.db_path), self.conn:
            for table in ("results", "selected", "fits", "manifest", "meta"):
                self.conn.execute(f"DELETE FROM {table}")

    def completed_keys(self, include_errors: bool = True) -> set[str]:
        """Keys of the fits whose rows are stored (with `include_errors`, failed ones too)."""
        query = "SELECT fit_key FROM fits" + ("" if include_errors else " WHERE status = 'ok'")
        return {k for (k,) in self.conn.execute(query)}

    def write_fit(self, fit_key: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store one fit's rows atomically, replacing any earlier attempt at the same fit."""
        status = "error" if any(r["status"] != "ok" for r in rows) else "ok"
        with _writing(self.db_path), self.conn:
            self.conn.execute("DELETE FROM results WHERE fit_key = ?", (fit_key,))
            self._insert("results", rows)
            self.conn.execute("INSERT OR REPLACE INTO fits VALUES (?, ?)", (fit_key, status))

    def write_selected(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace the rows of the selection protocols (derived from the stored fits by
        benchmark/evaluation/selection.py) in one transaction: they are recomputed after every run."""
        with _writing(self.db_path), self.conn:
            self.conn.execute("DELETE FROM selected")
            self._insert("selected", rows)

    def _insert(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        columns = list(COLUMNS)
        placeholders = ", ".join("?" for _ in columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        self.conn.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})",
                              [[_clean(row.get(c)) for c in columns] for row in rows])

    def set_manifest(self, keys: Iterable[str], meta: Mapping[str, Any]) -> None:
        """Record which fits make up the current grid, and the run's configuration; the exports
        of an earlier run go, so that no report can read them before this run's are written."""
        for name in (CSV_NAME, PARQUET_NAME, META_NAME):
            (self.run_dir / name).unlink(missing_ok=True)
        with _writing(self.db_path), self.conn:
            self.conn.execute("DELETE FROM manifest")
            self.conn.executemany("INSERT OR IGNORE INTO manifest VALUES (?)",
                                  [(k,) for k in keys])
            self.conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                  [(k, json.dumps(v)) for k, v in meta.items()])

    def frame(self, scenarios: Sequence[str] | None = None) -> pd.DataFrame:
        """The current grid's rows (of `scenarios` only, when given), sorted: one per
        (scenario, shift, model, selection, config, seed, n_train)."""
        return read_sqlite(self.db_path, scenarios)

    def export(self) -> Path:
        """Write the committed forms of the run: `results.csv`, `results.parquet` and `run.json`
        (configuration)."""
        path = self.run_dir / CSV_NAME
        meta = {k: json.loads(v) for k, v in self.conn.execute("SELECT key, value FROM meta")}
        with _writing(path):
            _atomic(lambda tmp: tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n"),
                    self.run_dir / META_NAME)
            _atomic(self._write_rows, path, self.run_dir / PARQUET_NAME)
        return path

    def _chunks(self) -> Iterator[pd.DataFrame]:
        """The current grid's rows in the canonical order, typed, `EXPORT_ROWS` at a time: an
        export holds one chunk in memory, however large the run (SQLite sorts on disk)."""
        yield typed(pd.DataFrame(columns=list(COLUMNS)))  # the header of an empty run
        for chunk in pd.read_sql_query(_rows_query(), self.conn, chunksize=EXPORT_ROWS):
            yield typed(chunk)

    def _write_rows(self, csv: Path, parquet: Path) -> None:
        """The rows, read once, as CSV (pandas writes the shortest repr of each float, which reads
        back exactly) and as parquet (the declared column types kept, for readers such as pandas,
        polars or DuckDB that should not guess types from text)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        chunks = self._chunks()
        header = next(chunks)
        schema = pa.Schema.from_pandas(header, preserve_index=False)
        with csv.open("w", newline="") as handle, pq.ParquetWriter(parquet, schema) as writer:
            header.to_csv(handle, index=False)
            for chunk in chunks:
                chunk.to_csv(handle, index=False, header=False)
                writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


_DTYPES = {"TEXT": "string", "REAL": "float64", "INTEGER": "int64"}


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every column cast to its declared type (text as pandas' nullable string), so
    a frame read from SQLite, CSV or parquet compares equal value for value and dtype for dtype.

    Empty text becomes missing: a CSV cannot tell "" from NULL (an empty `fit_flags` and a
    missing one both mean "no flag"), and the three forms must agree.
    """
    out = frame[list(COLUMNS)].astype({c: _DTYPES[t] for c, t in COLUMNS.items()})
    for column in (c for c, t in COLUMNS.items() if t == "TEXT"):
        out[column] = out[column].mask(out[column] == "")
    return out


TIMING_KEY = "timing"  # run.json's record of how long `spurbench run` took (`record_timing`)


def record_timing(run_dir: str | Path, timing: Mapping[str, Any]) -> None:
    """Add how long the run took to its `run.json`, under `TIMING_KEY`, after its report.

    A measurement, not configuration: no report reads it (a report rebuilt from the committed rows
    is the same bytes whatever it says) and every run rewrites it; `make perf` reads the committed
    paper run's. Kept out of the store's meta table, so an export (`--resume`) drops it until the
    run that made that export records its own.
    """
    path = Path(run_dir) / META_NAME
    if not path.exists():
        return
    meta = {**json.loads(path.read_text()), TIMING_KEY: dict(timing)}
    _atomic(lambda tmp: tmp.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n"), path)


def _atomic(write: Any, *paths: Path) -> None:
    """Write `paths` through temporary files (`write` gets them in the same order) and rename
    them, the first path last (the CSV, which readers look for first): a reader sees the old
    file or the new one, never a half-written one."""
    tmps = [path.with_name(f".{path.name}.tmp") for path in paths]
    try:
        write(*tmps)
        for tmp, path in reversed(list(zip(tmps, paths, strict=True))):
            os.replace(tmp, path)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)


def quote_column(name: str) -> str:
    """A column name as SQL spells it (some, like `group`, are keywords)."""
    return f'"{name}"'


def _rows_query(scenarios: int = 0) -> str:
    """SQL for the rows of the fits listed in the run's manifest and the selection protocols'
    rows derived from them, in the canonical order: `SORT_ORDER` with missing values last (as
    pandas sorts), ties in storage order. With `scenarios` > 0, only that many scenarios' rows
    (bound as parameters). Columns by name: a table migrated by `_add_missing_columns` has them
    in another order."""
    columns = ", ".join(quote_column(c) for c in COLUMNS)
    where = f" WHERE t.scenario IN ({', '.join('?' * scenarios)})" if scenarios else ""
    parts = " UNION ALL ".join(
        f"SELECT {', '.join(f't.{quote_column(c)}' for c in COLUMNS)}, {i} AS part_, t.rowid AS row_ "
        f"FROM {table} t JOIN manifest m ON t.fit_key = m.fit_key{where}"
        for i, table in enumerate(("results", "selected")))
    order = ", ".join(f"{quote_column(c)} IS NULL, {quote_column(c)}" for c in SORT_ORDER)
    return f"SELECT {columns} FROM ({parts}) ORDER BY {order}, part_, row_"


def read_sqlite(db_path: str | Path, scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows of the fits listed in the run's manifest and the selection protocols' rows
    derived from them (of `scenarios` only, when given), in the canonical order."""
    db_path = Path(db_path)
    names = list(scenarios or ())
    try:
        with contextlib.closing(_connect_read_only(db_path)) as conn:
            df = pd.read_sql_query(_rows_query(len(names)), conn, params=names * 2 or None)
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as exc:
        raise _damaged(db_path, exc.__cause__ or exc) from None
    return df


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    """The run's configuration: `run.json` when present, else the database ({} without either)."""
    if (Path(run_dir) / META_NAME).exists():
        return json.loads((Path(run_dir) / META_NAME).read_text())
    db = Path(run_dir) / DB_NAME
    if not db.exists():
        return {}
    try:
        with contextlib.closing(_connect_read_only(db)) as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}
    except sqlite3.DatabaseError as exc:
        raise _damaged(db, exc) from None


def _read_csv(path: Path) -> pd.DataFrame:
    """The committed CSV, refused with one line when it is empty, cut mid-row or not ours."""
    text = path.read_bytes()
    problem = None
    if not text.strip():
        problem = "is empty"
    elif not text.endswith(b"\n"):
        problem = "ends mid-row (the file was cut short)"
    else:
        try:
            df = pd.read_csv(path, low_memory=False)  # one dtype per column, not per chunk
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            problem = f"is not a results table ({str(exc).strip()})"
        else:
            missing = [c for c in SORT_ORDER if c not in df.columns]
            if not missing:
                return df
            problem = f"lacks the columns {', '.join(missing)}"
    raise SpurbenchError(f"{path}: {problem}; rerun with --resume to rewrite it from "
                         f"{DB_NAME}, or restore it from a copy")


def read_results(run_dir: str | Path) -> pd.DataFrame:
    """A run's rows: from SQLite when present (what the run stored), else from `results.csv`,
    else from `results.parquet` (the committed form of results/paper: typed, a sixth of the CSV)."""
    run_dir = Path(run_dir)
    if (run_dir / DB_NAME).exists():
        return _as_csv_reads(read_sqlite(run_dir / DB_NAME))
    if (run_dir / CSV_NAME).exists():
        return _read_csv(run_dir / CSV_NAME)
    if (run_dir / PARQUET_NAME).exists():
        return _read_parquet(run_dir / PARQUET_NAME)
    raise SpurbenchError(f"{run_dir}: no {DB_NAME}, {CSV_NAME} or {PARQUET_NAME} here; "
                         "run `spurbench run` first")


def _read_parquet(path: Path) -> pd.DataFrame:
    """The rows of an exported `results.parquet`, as its CSV would read (`_as_csv_reads`)."""
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors have no common base class
        raise SpurbenchError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc}); "
                             "rerun the run or restore the file") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise SpurbenchError(f"{path}: not a spurbench results file (no {', '.join(missing[:3])})")
    return _as_csv_reads(frame[list(COLUMNS)])


def _as_csv_reads(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with exactly the values and dtypes its CSV export reads back as (a text round trip
    in memory; floats are written exactly), so a report is the same whichever form it read."""
    text = io.StringIO()
    frame.to_csv(text, index=False)
    text.seek(0)
    return pd.read_csv(text, low_memory=False)
