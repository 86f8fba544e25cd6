"""The leaderboard's arithmetic on a frame small enough to check by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.leaderboard import leaderboard, to_markdown


def _rows(model: str, paradigm: str, accuracy: list[float], worst: list[float], n_train: int = 100,
          status: str = "ok") -> list[dict]:
    return [{"scenario": "s", "model": model, "paradigm": paradigm, "group": "g", "reference": 0, "seed": 0,
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
    assert board.loc["a", "accuracy_nauc"] == pytest.approx(0.7)
    assert to_markdown(leaderboard(frame)).splitlines()[2].startswith("| 1 | b | discriminative")
    oracle = pd.DataFrame(_rows("oracle", "oracle", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0])).assign(reference=1)
    assert list(leaderboard(pd.concat([frame, oracle]))["model"]) == ["b", "a", "oracle"]  # panel first


def test_variants_rank_as_reference_rows_and_unshifted_scenarios_are_left_out():
    frame = pd.DataFrame(_rows("a", "generative", [0.9, 0.7, 0.5], [0.8, 0.6, 0.2])
                         + _rows("a+em", "generative", [0.9, 0.9, 0.9], [0.9, 0.9, 0.9]))
    curve = pd.DataFrame(_rows("c", "discriminative", [0.99] * 3, [0.99] * 3)).assign(
        scenario="learning_curve", shift=0.0)  # one level: no shift to summarise
    board = leaderboard(pd.concat([frame, curve]))
    assert list(board["model"]) == ["a", "a+em"]
    assert board.set_index("model").loc["a+em", "reference"] == 1
