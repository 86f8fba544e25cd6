"""The leaderboard's arithmetic on a frame small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from spurbench.report.leaderboard import (
    COLUMNS,
    DISPLAYED,
    leaderboard,
    rank_cell,
    rank_with_intervals,
    to_markdown,
    to_text,
)


def _rows(model: str, paradigm: str, accuracy: list[float], worst: list[float], n_train: int = 100,
          status: str = "ok", scenario: str = "s", seed: int = 0, flags: str = "") -> list[dict]:
    return [{"scenario": scenario, "model": model, "paradigm": paradigm, "group": "g", "reference": 0,
             "seed": seed, "fit_flags": flags,
             "n_train": n_train, "shift": shift, "accuracy": a, "worst_group_accuracy": w,
             "status": status} for shift, a, w in zip((0.0, 0.5, 1.0), accuracy, worst, strict=True)]


def test_leaderboard_means_at_the_largest_shift_and_normalised_auc():
    frame = pd.DataFrame(
        _rows("a", "generative", [0.9, 0.7, 0.5], [0.8, 0.6, 0.2])
        + _rows("b", "discriminative", [0.8, 0.8, 0.6], [0.7, 0.7, 0.4])
        + _rows("b", "discriminative", [0.1, 0.1, 0.1], [0.1, 0.1, 0.1], n_train=10)  # smaller n: ignored
        + _rows("a", "generative", [0.0, 0.0, 0.0], [0.0, 0.0, 0.0], status="error"))  # errors: ignored
    board = leaderboard(frame).set_index("model")
    assert list(board.index) == ["b", "a"]  # ranked by accuracy at the largest shift
    assert board.loc["a", "accuracy_id"] == pytest.approx(0.9)
    assert board.loc["b", "accuracy_shift"] == pytest.approx(0.6)
    assert board.loc["a", "worst_group_shift"] == pytest.approx(0.2)
    # Trapezoids over [0, 0.5, 1] divided by the range 1: (0.9 + 0.7) / 4 + (0.7 + 0.5) / 4 = 0.7.
    assert board.loc["a", "normalised_auc"] == pytest.approx(0.7)
    first = to_markdown(leaderboard(frame)).splitlines()[2]
    assert first.startswith("| b | discriminative | g | 0 | 1 | 1 | 1 (tied 1-2) | 0.800 |")  # one cell
    oracle = pd.DataFrame(_rows("oracle", "oracle", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0])).assign(reference=1)
    assert list(leaderboard(pd.concat([frame, oracle]))["model"]) == ["b", "a", "oracle"]  # panel first


def test_variants_rank_as_reference_rows_and_unshifted_scenarios_are_left_out():
    frame = pd.DataFrame(_rows("a", "generative", [0.9, 0.7, 0.5], [0.8, 0.6, 0.2])
                         + _rows("a+em", "generative", [0.9, 0.9, 0.9], [0.9, 0.9, 0.9]))
    curve = pd.DataFrame(_rows("c", "discriminative", [0.99] * 3, [0.99] * 3)).assign(
        scenario="learning_curve", shift=0.0)  # one level: no shift to summarise
    board = leaderboard(pd.concat([frame, curve]))
    # named as report.md names it, wherever the board is printed (the CLI too)
    assert list(board["model"]) == ["a", "a+em (test-set-adapted)"]
    assert board.set_index("model").loc["a+em (test-set-adapted)", "reference"] == 1


def test_a_flagged_fit_does_not_move_the_mean_as_report_md_leaves_it_out():
    # a's seed 1 in scenario s0 collapsed to chance (flagged `chance_fit`): the rule of
    # `prepare.panel` drops it, so a's mean at the largest shift is (0.6 + 0.7 + 0.8) / 3 = 0.7;
    # with it, s0 would be (0.6 + 0.5) / 2 = 0.55 (seeds first) and the mean 0.683.
    clean = [row for i, a in enumerate([0.6, 0.7, 0.8])
             for row in _rows("a", "generative", [0.9, 0.8, a], [0.8, 0.7, a], scenario=f"s{i}")]
    flagged = _rows("a", "generative", [0.5, 0.5, 0.5], [0.0, 0.0, 0.0], scenario="s0", seed=1,
                    flags="chance_fit")
    other = [row for i, a in enumerate([0.65, 0.65, 0.65])
             for row in _rows("b", "discriminative", [0.9, 0.8, a], [0.8, 0.7, a], scenario=f"s{i}")]
    without = leaderboard(pd.DataFrame(clean + other)).set_index("model")
    board = leaderboard(pd.DataFrame(clean + flagged + other)).set_index("model")
    assert board.loc["a", "accuracy_shift"] == pytest.approx(0.7)
    pd.testing.assert_frame_equal(board, without)  # nothing at all moves: means, intervals, ranks
    # a flag outside the exclusion rule (`not_converged`) stays in: s0's mean becomes 0.55
    kept = leaderboard(pd.DataFrame(clean + [r | {"fit_flags": "not_converged"} for r in flagged] + other))
    assert kept.set_index("model").loc["a", "accuracy_shift"] == pytest.approx((0.55 + 0.7 + 0.8) / 3)


def test_reference_models_and_variants_are_shown_but_not_ranked():
    frame = pd.DataFrame(_shifted("a", [0.5, 0.6, 0.7]) + _shifted("lda", [0.9, 0.9, 0.9])
                         + _shifted("a+drop_spurious", [0.95, 0.95, 0.95]))
    frame.loc[frame["model"] == "lda", "reference"] = 1  # tagged `reference` at registration
    board = leaderboard(frame).set_index("model")
    assert board["reference"].to_dict() == {"a": 0, "lda": 1, "a+drop_spurious": 1}
    assert board.loc["a", "rank"] == 1 and board[["rank"]].iloc[1:].isna().all().all()
    assert board.loc["lda", "accuracy_shift"] == pytest.approx(0.9)  # shown with its own mean


def _shifted(model: str, shifted: list[float], seeds: int = 1) -> list[dict]:
    """One scenario per value of `shifted` (accuracy at the largest shift; 0.9 at shift 0)."""
    return [row for i, a in enumerate(shifted) for seed in range(seeds)
            for row in _rows(model, "generative", [0.9, 0.8, a], [0.8, 0.7, a], scenario=f"s{i}", seed=seed)]


def test_means_carry_a_t_interval_over_the_scenarios_the_model_ran():
    board = leaderboard(pd.DataFrame(_shifted("a", [0.5, 0.6, 0.7, 0.8], seeds=2))).set_index("model")
    # four scenarios: mean 0.65, sd sqrt(((.15)^2 + (.05)^2) * 2 / 3) = 0.1291, t(0.975, 3) = 3.1824,
    # half-width 3.1824 * 0.1291 / 2 = 0.2054 (seeds are averaged first: they do not add units)
    half = stats.t.ppf(0.975, 3) * np.std([0.5, 0.6, 0.7, 0.8], ddof=1) / 2
    assert board.loc["a", "accuracy_shift"] == pytest.approx(0.65)
    assert board.loc["a", "accuracy_shift_ci_low"] == pytest.approx(0.65 - half)
    assert board.loc["a", "accuracy_shift_ci_high"] == pytest.approx(0.65 + half)
    assert half == pytest.approx(0.2054, abs=1e-4)
    # accuracy at shift 0 is 0.9 everywhere: a zero-width interval, not a missing one
    assert board.loc["a", "accuracy_id_ci_low"] == pytest.approx(0.9)
    assert "0.650 ± 0.205" in to_text(board.reset_index())


def test_families_weigh_equally_and_the_interval_is_over_family_means():
    # family f0 is swept over four scenarios (0.5 each), f1 and f2 have one each (0.8, 0.9):
    # family means 0.5, 0.8, 0.9 -> mean 0.7333 (scenario-weighted it would be 0.6167),
    # sd 0.2082, t(0.975, 2) = 4.3027, half-width 4.3027 * 0.2082 / sqrt(3) = 0.5171
    rows = [r | {"family": "f0" if i < 4 else f"f{i - 3}"}
            for i, a in enumerate([0.5, 0.5, 0.5, 0.5, 0.8, 0.9])
            for r in _rows("a", "generative", [0.9, 0.8, a], [0.8, 0.7, a], scenario=f"s{i}")]
    board = leaderboard(pd.DataFrame(rows)).set_index("model")
    half = stats.t.ppf(0.975, 2) * np.std([0.5, 0.8, 0.9], ddof=1) / np.sqrt(3)
    assert board.loc["a", "accuracy_shift"] == pytest.approx(0.7333, abs=1e-4)
    assert board.loc["a", "accuracy_shift_ci_high"] == pytest.approx(0.7333 + half, abs=1e-4)
    assert half == pytest.approx(0.5171, abs=1e-4)
    assert (board.loc["a", "scenarios"], board.loc["a", "families"]) == (6, 3)
    # two families: the interval falls back to the six scenarios, speaking for them only
    two = leaderboard(pd.DataFrame([r | {"family": "f0" if r["scenario"] != "s5" else "f1"} for r in rows]))
    scenarios = [0.5, 0.5, 0.5, 0.5, 0.8, 0.9]
    assert two.loc[0, "accuracy_shift"] == pytest.approx(np.mean(scenarios))
    assert two.loc[0, "accuracy_shift_ci_low"] == pytest.approx(
        np.mean(scenarios) - stats.t.ppf(0.975, 5) * np.std(scenarios, ddof=1) / np.sqrt(6))


def test_fewer_than_three_units_give_no_interval_and_a_rank_spanning_every_model():
    board = leaderboard(pd.DataFrame(_shifted("a", [0.5, 0.6]) + _shifted("b", [0.9, 0.95])))
    assert board["accuracy_shift_ci_low"].isna().all()  # two scenarios x one seed: two cells
    assert list(board["model"]) == ["b", "a"] and list(board["rank"]) == [1, 2]
    assert list(board["rank_low"]) == [1, 1] and list(board["rank_high"]) == [2, 2]
    assert "1 (tied 1-2)" in to_markdown(board)


def test_rank_intervals_come_from_paired_differences_over_shared_scenarios():
    # b is a minus 0.05 in every scenario: clearly worse, though their own intervals overlap;
    # c - a = (-0.05, -0.2, 0.05): mean -0.067, sd 0.126, t(0.975, 2) x sd / sqrt(3) = 0.31 > 0.067
    a, b, c = [0.9, 0.8, 0.7], [0.85, 0.75, 0.65], [0.85, 0.6, 0.75]
    cells = pd.MultiIndex.from_product([["s1", "s2", "s3"], [0]], names=["scenario", "seed"])
    units = pd.DataFrame({"a": a, "b": b, "c": c}, index=cells)
    ranks = rank_with_intervals(units, pd.Series({"a": 0.8, "b": 0.75, "c": np.mean(c)}))
    assert ranks["rank"].tolist() == [1, 2, 3]
    assert ranks["rank_low"].tolist() == [1, 2, 1]  # b: a is clearly better
    assert ranks["rank_high"].tolist() == [2, 3, 3]  # a: b is clearly worse
    frame = pd.DataFrame(_shifted("a", a) + _shifted("b", b) + _shifted("c", c))
    board = leaderboard(frame).set_index("model")
    assert board.loc["a", "accuracy_shift_ci_low"] < board.loc["b", "accuracy_shift_ci_high"]  # overlap
    assert [rank_cell(*board.loc[m, ["rank", "rank_low", "rank_high"]]) for m in "abc"] == [
        "1 (tied 1-2)", "2 (tied 2-3)", "3 (tied 1-3)"]


def test_one_vocabulary_in_the_frame_the_text_the_markdown_the_page_and_the_help(tmp_path, capsys):
    from spurbench.interface.cli import main
    from spurbench.report.html import render_html

    frame = pd.DataFrame(_shifted("a", [0.5, 0.6, 0.7]) + _shifted("b", [0.9, 0.95, 0.99]))
    board = leaderboard(frame)
    assert tuple(board.columns) == COLUMNS and set(DISPLAYED) <= set(COLUMNS)
    assert to_text(board).split("\n")[0].split() == list(DISPLAYED)
    assert to_markdown(board).splitlines()[0] == "| " + " | ".join(DISPLAYED) + " |"
    assert '"columns": ' + str(list(DISPLAYED)).replace("'", '"') in render_html(frame, "t")
    with pytest.raises(SystemExit):
        main(["leaderboard", "--help"])
    shown = capsys.readouterr().out
    assert all(name in shown for name in DISPLAYED) and "Sort key" in shown
    for stale in ("acc@", "nAUC", "accuracy_nauc", "in-distribution accuracy |"):
        assert stale not in to_text(board) + to_markdown(board) + shown


def test_sort_by_another_metric_and_an_unknown_one_is_a_one_line_error():
    from spurbench.errors import ParameterError

    frame = pd.DataFrame(_shifted("a", [0.5, 0.6, 0.7]) + _rows("b", "generative", [0.2, 0.6, 0.65],
                                                                [0.2, 0.6, 0.65]))
    assert leaderboard(frame)["model"].tolist() == ["b", "a"]  # 0.65 > mean(0.5, 0.6, 0.7)
    assert leaderboard(frame, sort_by="accuracy_id")["model"].tolist() == ["a", "b"]
    with pytest.raises(ParameterError, match="sort_by: 'accuracy' is not a leaderboard metric"):
        leaderboard(frame, sort_by="accuracy")


def test_rank_intervals_pair_models_over_families():
    # c - a per scenario: f0 (+0.6, -0.3), f1 (+0.5, -0.2), f2 (+0.4, -0.1). Over the six scenarios
    # the difference is unclear (mean 0.15, sd 0.41, half-width 0.43); over the three families it
    # is +0.15 in each (sd 0): c is clearly better, so the two ranks are not tied.
    diffs = [0.6, -0.3, 0.5, -0.2, 0.4, -0.1]
    rows = [r | {"family": f"f{i // 2}"} for i, d in enumerate(diffs)
            for model, a in (("a", 0.3), ("c", 0.3 + d))
            for r in _rows(model, "generative", [0.9, 0.8, a], [0.8, 0.7, a], scenario=f"s{i}")]
    board = leaderboard(pd.DataFrame(rows)).set_index("model")
    assert [rank_cell(*board.loc[m, ["rank", "rank_low", "rank_high"]]) for m in "ca"] == ["1", "2"]
    flat = leaderboard(pd.DataFrame([r | {"family": r["scenario"]} for r in rows])).set_index("model")
    assert [rank_cell(*flat.loc[m, ["rank", "rank_low", "rank_high"]]) for m in "ca"] == [
        "1 (tied 1-2)", "2 (tied 1-2)"]
