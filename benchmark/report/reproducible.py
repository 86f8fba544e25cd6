"""What makes a report the same bytes on every machine with the same library versions.

Two things can change a report's numbers between machines although the rows are the same:

* **Threads.** A BLAS or OpenMP pool splits sums over as many threads as the machine (or its
  `OMP_NUM_THREADS` / `OPENBLAS_NUM_THREADS`) gives it, and a sum in another order differs in its
  last bits. `single_threaded` runs the report's statistics and figures on one thread
  (threadpoolctl), so the order never depends on the machine's cores, its settings or its load.
* **Amplified last bits.** A processor's own BLAS kernels and vectorised `exp` / `log` may still
  differ in the last bit, and an iterative fit magnifies that: the mixed model moves by about 1e-10
  (relative) when its inputs move by 1e-15, the tenth significant digit. So every statistic of an
  iterative fit (the mixed model, the population optimum) is rounded to `SIGNIFICANT` digits where
  it is computed, every float of every CSV table is written at that precision (`rounded`), and
  report.md's sentences read the rounded tables: a sentence is a function of the table, and both
  move only if a value lies within about 1e-10 of a rounding boundary of its sixth digit (about
  one value in 10,000). No sentence quotes more than four significant digits (`+4.22 points`,
  `0.823`, `p = 0.0007`), so `SIGNIFICANT` stays two digits above the finest one quoted.

Library versions matter beyond the declared dependencies: matplotlib writes a PDF's fonts with
fontTools (whose subsetter's defaults change the embedded font's bytes between versions) and a
PNG with Pillow. `writer_versions` names them, for the figure cache and for whoever compares.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

import pandas as pd
from pandas.api.types import is_float_dtype
from threadpoolctl import threadpool_limits

SIGNIFICANT = 6
FILE_WRITERS = ("fonttools", "pillow")  # undeclared dependencies that write the figures' bytes
FLOAT_FORMAT = f"%.{SIGNIFICANT}g"  # what `to_csv` writes a `rounded` float with: the same digits


def significant(value: float) -> float:
    """`value` rounded to `SIGNIFICANT` significant digits (NaN and infinities unchanged); decimal
    rounding of the exact binary value, the same on every machine."""
    value = float(value)
    return float(f"{value:.{SIGNIFICANT}g}") if math.isfinite(value) else value


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every float column rounded by `significant` (other columns unchanged)."""
    out = frame.copy()
    for column in out.columns:
        if is_float_dtype(out[column]):
            out[column] = out[column].map(significant)
    return out


@contextmanager
def single_threaded() -> Iterator[None]:
    """Linear algebra and OpenMP on one thread inside the block (threadpoolctl): forked workers
    inherit the limit; the previous limits come back on leaving."""
    with threadpool_limits(limits=1):
        yield


def writer_versions() -> dict[str, str]:
    """Installed versions of `FILE_WRITERS` ("absent" when one is not installed)."""
    versions = {}
    for name in FILE_WRITERS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
