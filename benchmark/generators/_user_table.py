"""A user's own CSV or parquet file as a canonical table (see `_tables`), for `real_table`.

The file names a binary label column, an attribute column and optionally a domain column; every
other column is a feature (numbers as they are, text one-hot over its sorted levels with the first
dropped). Rows with a missing value in any column are dropped. Every mistake a user can make
(no such file, a column that is not there, a label with more or fewer than two values, nothing
left to learn from) is a `ParameterError` naming the parameter, so a spec reports it in one line.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from spurbench.errors import ParameterError
from spurbench.generators._tables import Table, canonical, to_table

SUFFIXES = (".csv", ".parquet")


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (a user's table: what a spec's ``file_sha256`` pins)."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        raise ParameterError("path", f"no such file: {path}") from None


def value_text(value: Any) -> str:
    """A label, attribute or domain value as the text the canonical table stores (1.0 -> "1")."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix.lower() not in SUFFIXES:
        raise ParameterError("path", f"must name a .csv or .parquet file, got {str(path)!r}")
    if not path.is_file():
        raise ParameterError("path", f"no such file: {path}")
    try:
        return pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ParameterError("path", f"cannot read {path.name} as a table ({reason})") from None


def _column(frame: pd.DataFrame, field: str, name: Any, path: Path) -> str:
    if not isinstance(name, str) or name not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:12])) + (", ..." if len(frame.columns) > 12 else "")
        raise ParameterError(field, f"no column {name!r} in {path.name}; its columns: {shown}")
    return name


@cache
def load_user_table(path: str, label: str, positive: Any, attribute: str | None,
                    domain: str | None) -> Table:
    """The user's file as a canonical table named after its stem; cached per process."""
    file = Path(path)
    frame = _read(file)
    label = _column(frame, "label", label, file)
    natural = [_column(frame, field, c, file) for field, c in (("attribute", attribute), ("domain", domain))
               if c is not None]
    if len(set([label, *natural])) < len(natural) + 1:
        raise ParameterError("attribute", "label, attribute and domain must be different columns")
    values = sorted(frame[label].dropna().map(value_text).unique())
    if len(values) != 2:
        shown = ", ".join(values[:5]) + (", ..." if len(values) > 5 else "")
        raise ParameterError("label", f"column {label!r} of {file.name} must hold exactly two values "
                             f"(a binary label), it holds {len(values)}: {shown}")
    positive = values[1] if positive is None else value_text(positive)
    if positive not in values:
        raise ParameterError("positive", f"must be one of the label's values {values}, got {positive!r}")
    features = [c for c in frame.columns if c != label and c not in natural]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c])]
    text = [c for c in features if c not in numeric]
    y = frame[label].map(value_text, na_action="ignore")
    out = canonical(frame, numeric, text, (y == positive).astype(float).where(y.notna()), natural)
    if len(out) < 20 or out.shape[1] - 1 - len(natural) == 0:
        raise ParameterError("path", f"{file.name} leaves {len(out)} complete rows and "
                             f"{out.shape[1] - 1 - len(natural)} feature columns; need at least 20 "
                             "rows and one feature")
    if np.unique(out["y"]).size < 2:
        raise ParameterError("label", f"after dropping rows with missing values, {file.name} holds "
                             "one label value only")
    return to_table(file.stem, out)
