"""Start-up stays cheap: the commands that only list or explain load no plotting or statistics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "seaborn", "statsmodels")
PROBE = """
import contextlib, io, sys
from spurbench.interface.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        status = main(sys.argv[1:])
    except SystemExit as exc:  # --help exits through argparse
        status = exc.code
print(status, *sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY_NAMES)))
"""


@pytest.mark.parametrize("argv", [["list", "models"], ["list", "generators"], ["--help"]])
def test_listing_and_help_do_not_import_plotting_or_statistics(argv):
    # a fresh interpreter, so nothing this test session imported counts
    out = subprocess.run([sys.executable, "-c", PROBE.replace("HEAVY_NAMES", repr(HEAVY)), *argv], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0"], f"`spurbench {' '.join(argv)}` exited {out[0]} and imported {out[1:]}"
