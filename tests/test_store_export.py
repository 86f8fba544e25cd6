"""The store's canonical order and its streamed exports: rows come back sorted by `SORT_ORDER`
whatever order they were written in, and an export written a few rows at a time is the same
file as one written at once (so a large run never holds all its rows in memory)."""

from __future__ import annotations

import contextlib
import sqlite3

import pandas as pd
import pytest
from spurbench import harness
from spurbench.harness import store
from spurbench.harness.spec import load_scenario
from spurbench.harness.store import COLUMNS, SORT_ORDER, ResultStore, read_results, read_sqlite

from tests.spec_helpers import TINY_SPEC, write_spec


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """Two scenarios, one with model selection (so the `selected` table has rows)."""
    tmp = tmp_path_factory.mktemp("export")
    plain = load_scenario(write_spec(tmp, "plain"))
    searched = load_scenario(write_spec(tmp, "searched", body=TINY_SPEC.format(
        name="searched", n_train=80, seeds=2) + "selection = true\n"))
    harness.run([plain, searched], ["logistic_regression", "gaussian_nb"], out_dir=tmp / "run",
                jobs=1, progress=False)
    return tmp / "run"


def test_rows_come_back_in_the_canonical_order_whatever_the_storage_order(run_dir, tmp_path):
    rows = read_sqlite(run_dir / store.DB_NAME)
    assert set(rows["selection"]) == {"fixed", "candidate", "iid", "worst_class", "worst_group", "oracle"}
    expected = rows.sort_values(SORT_ORDER, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, expected)
    # The same rows written in reverse order read back identically.
    reversed_db = tmp_path / store.DB_NAME
    with contextlib.closing(sqlite3.connect(run_dir / store.DB_NAME)) as source, \
            contextlib.closing(sqlite3.connect(reversed_db)) as target:
        source.backup(target)
        for table in ("results", "selected"):
            target.execute(f"CREATE TEMP TABLE copy AS SELECT * FROM {table} ORDER BY rowid DESC")
            target.execute(f"DELETE FROM {table}")
            target.execute(f"INSERT INTO {table} SELECT * FROM copy")
            target.execute("DROP TABLE copy")
        target.commit()
    pd.testing.assert_frame_equal(read_sqlite(reversed_db), rows)


def test_rows_of_some_scenarios_are_those_scenarios_rows_of_the_whole(run_dir):
    rows = read_sqlite(run_dir / store.DB_NAME)
    some = read_sqlite(run_dir / store.DB_NAME, ["searched"])
    expected = rows[rows["scenario"] == "searched"].reset_index(drop=True)
    pd.testing.assert_frame_equal(some, expected)


def test_an_export_written_in_chunks_is_the_export_written_at_once(run_dir, tmp_path, monkeypatch):
    exports = {}
    for chunk in (10**9, 7):
        monkeypatch.setattr(store, "EXPORT_ROWS", chunk)
        with ResultStore(run_dir) as writer:
            writer.export()
        exports[chunk] = ((run_dir / store.CSV_NAME).read_bytes(),
                          pd.read_parquet(run_dir / store.PARQUET_NAME))
    (whole_csv, whole_parquet), (chunked_csv, chunked_parquet) = exports.values()
    assert len(read_sqlite(run_dir / store.DB_NAME)) > 7 * 10  # many chunks, not one
    assert chunked_csv == whole_csv
    pd.testing.assert_frame_equal(chunked_parquet, whole_parquet)
    assert list(chunked_parquet.columns) == list(COLUMNS)
    pd.testing.assert_frame_equal(read_results(run_dir), pd.read_csv(run_dir / store.CSV_NAME,
                                                                     low_memory=False))


def test_an_empty_grid_exports_the_header_only(tmp_path):
    with ResultStore(tmp_path) as writer:
        writer.set_manifest([], {})
        writer.export()
    assert (tmp_path / store.CSV_NAME).read_text().strip().split(",") == list(COLUMNS)
    assert pd.read_parquet(tmp_path / store.PARQUET_NAME).empty
