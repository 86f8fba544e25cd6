"""The leaderboard: one row per model, from a run's stored rows only.

Columns: in-distribution accuracy (shift 0), accuracy and worst-group accuracy at each
scenario's largest shift, and the normalised area under the accuracy-versus-shift curve (the
curve's mean height, so it rewards models that degrade late as well as little). Every value is a
mean over the scenarios with a shift and their seeds at each scenario's largest training size, the
setting the report's shift summaries use; ranking is by accuracy at the largest shift, what the
benchmark is about, with the panel first and reference rows (oracles, `+em` and other variants)
after it.
"""

from __future__ import annotations

import pandas as pd

from benchmark.metrics import normalised_auc
from benchmark.selection import fixed

COLUMNS = ("model", "paradigm", "group", "reference", "scenarios", "accuracy_id", "accuracy_shift",
           "worst_group_shift", "accuracy_nauc")
HEADERS = {"accuracy_id": "in-distribution accuracy", "accuracy_shift": "accuracy at largest shift",
           "worst_group_shift": "worst-group accuracy at largest shift",
           "accuracy_nauc": "normalised AUC (accuracy vs shift)"}


def _largest_n_train(frame: pd.DataFrame) -> pd.DataFrame:
    largest = frame.groupby("scenario")["n_train"].transform("max")
    return frame[frame["n_train"] == largest]


def leaderboard(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-model summary of a results frame, best first (see the module docstring).

    Parameters
    ----------
    frame : pandas.DataFrame
        Result rows as stored (`spurbench.load`); error rows are ignored.

    Returns
    -------
    pandas.DataFrame
        One row per model with the columns of ``COLUMNS``.
    """
    if "group" not in frame:  # runs stored before models declared a group
        frame = frame.assign(group="", reference=frame["paradigm"].eq("oracle").astype(int))
    ok = _largest_n_train(fixed(frame[frame["status"] == "ok"]))
    # shift summaries need a shift: learning-curve scenarios (one level) would rank in-distribution
    # accuracy as accuracy under shift, for the few models they run
    ok = ok[ok.groupby("scenario")["shift"].transform("nunique") > 1]
    if ok.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    last = ok[ok["shift"] == ok.groupby("scenario")["shift"].transform("max")]
    auc = normalised_auc(ok).groupby("model")["accuracy_nauc"].mean()
    board = ok.groupby("model").agg(paradigm=("paradigm", "first"), group=("group", "first"),
                                    reference=("reference", "max"), scenarios=("scenario", "nunique"))
    board["accuracy_id"] = ok[ok["shift"] == 0].groupby("model")["accuracy"].mean()
    board["accuracy_shift"] = last.groupby("model")["accuracy"].mean()
    board["worst_group_shift"] = last.groupby("model")["worst_group_accuracy"].mean()
    board["accuracy_nauc"] = auc
    # a `<model>+<how>` variant (test-set-adapted `+em`, dropped or refitted features) is scored
    # from another model's fit: a reference row, whatever its base model is
    board["reference"] = board["reference"].where(~board.index.str.contains("+", regex=False), 1)
    board = board.reset_index().sort_values(["reference", "accuracy_shift", "model"],
                                            ascending=[True, False, True])
    return board[list(COLUMNS)].reset_index(drop=True)


def to_markdown(board: pd.DataFrame) -> str:
    """The leaderboard as a Markdown table (three decimals), for report.md and README.md."""
    head = [HEADERS.get(c, c) for c in COLUMNS]
    lines = ["| rank | " + " | ".join(head) + " |", "|" + " --- |" * (len(COLUMNS) + 1)]
    for rank, row in enumerate(board.itertuples(index=False), start=1):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append(f"| {rank} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def to_text(board: pd.DataFrame) -> str:
    """The leaderboard as aligned plain text, for the end of `spurbench run`."""
    shown = board.rename(columns={"accuracy_id": "acc@0", "accuracy_shift": "acc@max",
                                  "worst_group_shift": "worst@max", "accuracy_nauc": "nAUC"})
    shown.index = range(1, len(shown) + 1)
    return shown.to_string(float_format=lambda v: f"{v:.3f}")
