"""The report's numbers do not depend on the machine's last bits: tables at a stated precision,
statistics of iterative fits rounded where they are computed, sentences read from the rounded
tables, and linear algebra on one thread (`spurbench.report.reproducible`)."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from spurbench.report import analysis, findings, tables
from spurbench.report.reproducible import FLOAT_FORMAT, SIGNIFICANT, rounded, significant, single_threaded
from threadpoolctl import threadpool_info


def test_significant_rounds_to_the_stated_digits_and_leaves_nan_and_infinities():
    assert SIGNIFICANT == 6
    assert significant(0.0421499999999) == 0.04215
    assert significant(-0.005690008827683148) == -0.00569001
    assert significant(1258.0) == 1258.0
    assert math.isnan(significant(float("nan")))
    assert significant(float("inf")) == float("inf")


def test_a_rounded_table_is_written_and_read_back_exactly():
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"model": ["a", "b", "c"], "n": [1, 2, 3], "value": rng.random(3),
                          "p_value": [1e-7, 0.0123456789, np.nan]})
    table = rounded(frame)
    assert table["n"].tolist() == [1, 2, 3] and table["model"].tolist() == ["a", "b", "c"]
    text = io.StringIO()
    table.to_csv(text, index=False, float_format=FLOAT_FORMAT)
    back = pd.read_csv(io.StringIO(text.getvalue()))
    pd.testing.assert_frame_equal(back, table)


def _effects_row(estimate: float) -> pd.Series:
    frame = pd.DataFrame([{"contrast": "discriminative - generative", "metric": "wga_largest_shift",
                           "selection": "panel", "flagged": "excluded", "estimate": estimate,
                           "ci_low": estimate - 0.05, "ci_high": estimate + 0.05, "p_value": 0.07,
                           "method": analysis.MIXED, "clusters": 12, "n_families": 12, "n_scenarios": 30,
                           "n_units": 600}], columns=analysis.EFFECT_COLUMNS)
    table = tables.Table("effects", "", "", frame)  # what the report writes and its sentences read
    return next(table.frame.itertuples(index=False))


def test_a_sentence_quotes_the_table_not_the_last_bits_of_the_estimate():
    # Two machines whose mixed models end 1e-12 apart, on either side of 0.04215 (+4.215 points,
    # where "+4.22" and "+4.21" meet): the rounded table holds 0.04215 for both, and so the
    # sentence, read from the table, is the same.
    below, above = _effects_row(0.04215 - 1e-12), _effects_row(0.04215 + 1e-12)
    assert below.estimate == above.estimate == 0.04215
    assert findings.judged(below, "wga_largest_shift") == findings.judged(above, "wga_largest_shift")


def test_the_mixed_model_estimate_survives_a_last_bit_change_of_its_inputs():
    # The mixed model magnifies a 1e-15 change of its inputs to about 1e-10 of its estimate (the
    # tenth digit); at six digits a value moves only within about 1e-10 of a rounding boundary,
    # which these seeded data are not.
    rng = np.random.default_rng(3)
    families = np.repeat([f"f{i}" for i in range(5)], 40)
    scenarios = np.array([f"{f}_s{i % 2}" for i, f in enumerate(families)])
    effect = rng.normal(0, 0.02, 5).repeat(40) + rng.normal(0, 0.01, 10).repeat(20)
    diffs = pd.DataFrame({"family": families, "scenario": scenarios, "seed": np.tile(np.arange(20), 10),
                          "difference": 0.03 + effect + rng.normal(0, 0.02, 200)})
    first = analysis.mixed_estimate(diffs)
    nudged = analysis.mixed_estimate(diffs.assign(difference=diffs["difference"] * (1 + 1e-15)))
    assert first["method"] == analysis.MIXED
    for key in ("estimate", "ci_low", "ci_high", "p_value"):
        assert first[key] == nudged[key] == significant(first[key])


def test_linear_algebra_runs_on_one_thread_inside_the_report_block():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    with single_threaded():
        pools = threadpool_info()
        assert pools and all(pool["num_threads"] == 1 for pool in pools)


def test_the_figure_cache_key_follows_the_libraries_that_write_the_files(monkeypatch):
    from spurbench.report import drawing, reproducible

    drawing.code_hash.cache_clear()
    before = drawing.code_hash()
    assert set(reproducible.writer_versions()) == {"fonttools", "pillow"}
    monkeypatch.setattr(drawing, "writer_versions", lambda: {"fonttools": "0.0", "pillow": "0.0"})
    drawing.code_hash.cache_clear()
    try:
        assert drawing.code_hash() != before
    finally:
        drawing.code_hash.cache_clear()
