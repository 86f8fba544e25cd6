"""Model-selection protocols: which point of a model's search space each protocol picks.

In a scenario with ``run.selection = true`` (or a list naming the models that search), a cell
(scenario, model, seed, n_train) has one fit with the registered defaults (rows with
``selection = "fixed"``) and one per other point of the model's search space (``"candidate"``),
all trained on the same sample with the same model seed. A protocol picks one of them per cell,
and the picked fit's rows are stored again under the protocol's name (the `selected` table of
the store, rebuilt after every run):

* ``fixed``: the defaults (the fit's own rows; nothing is copied).
* ``iid``: highest accuracy on the validation sample, drawn from the training distribution
  with its own stream (`FitTask.validation_rng`), never from test draws.
* ``worst_group``: highest worst-group accuracy on the same validation sample: group labels
  are used on validation only.
* ``worst_class``: highest worst-class accuracy on the same validation sample (the lowest
  per-class accuracy): no group labels at all, the protocol Yang et al. (SubpopBench, 2023) found
  surprisingly effective.
* ``oracle``: highest accuracy on the test sample of each shift level. It reads test draws: an
  upper bound (DomainBed's test-domain oracle), labelled as one wherever it appears.

Ties go to the defaults, then to the configuration first in canonical (JSON) order, so a choice
never depends on row order. A model without a search space has one candidate; its protocol rows
repeat its fixed rows, so every protocol compares the same panel. A cell whose fits all failed
has no protocol rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PROTOCOLS = ("fixed", "iid", "worst_class", "worst_group", "oracle")
ORACLE_PROTOCOLS = frozenset({"oracle"})  # choices made on test draws: upper bounds only
VALIDATION_CRITERIA = {"iid": "val_accuracy", "worst_class": "val_worst_class_accuracy",
                       "worst_group": "val_worst_group_accuracy"}
ORACLE_CRITERION = "accuracy"
FIT_ROWS = ("fixed", "candidate")
CELL = ["scenario", "model", "seed", "n_train"]


def fixed(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the `fixed` protocol (every model at its registered defaults): what every
    analysis but the selection experiment reads. Rows stored before selection existed count."""
    if "selection" not in rows:
        return rows
    return rows[rows["selection"].isna() | (rows["selection"] == "fixed")]


def _best(frame: pd.DataFrame, by: list[str], criterion: str) -> pd.DataFrame:
    """The row of `frame` with the highest `criterion` within each `by` group (see the ties rule
    of the module docstring); a NaN criterion is never preferred to a number."""
    ranked = frame.assign(_score=frame[criterion].fillna(-np.inf),
                          _candidate=frame["selection"] != "fixed")
    ranked = ranked.sort_values([*by, "_score", "_candidate", "config"],
                                ascending=[True] * len(by) + [False, True, True], kind="stable")
    return ranked.drop_duplicates(by).drop(columns=["_score", "_candidate"])


def protocol_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the `iid`, `worst_group` and `oracle` protocols for the fixed and candidate
    rows in `rows` (other rows are ignored; error rows are never chosen).

    Parameters
    ----------
    rows : stored result rows of scenarios run with ``run.selection = true``.

    Returns
    -------
    pandas.DataFrame
        The chosen fits' rows with ``selection`` set to the protocol's name; ``config`` says
        which configuration each protocol picked.
    """
    fits = rows[rows["selection"].isin(FIT_ROWS) & (rows["status"] == "ok")]
    if fits.empty:
        return fits.copy()
    chosen = []
    per_fit = fits.drop_duplicates([*CELL, "config"])  # validation scores are per fit
    for protocol, criterion in VALIDATION_CRITERIA.items():
        picked = _best(per_fit, CELL, criterion)[[*CELL, "config"]]
        chosen.append(fits.merge(picked, on=[*CELL, "config"]).assign(selection=protocol))
    chosen.append(_best(fits, [*CELL, "shift"], ORACLE_CRITERION).assign(selection="oracle"))
    return pd.concat(chosen, ignore_index=True)
