"""`import spurbench`: the public API of the `benchmark` package under the distribution's name.

The source folder is `benchmark/` (its layout is the architecture); this alias re-exports its
API rather than re-importing the package under a second name, which would create a second,
empty model registry.
"""

from benchmark import __version__
from benchmark.api import check_model, compare, draw, evaluate, load, model, report, run, scenarios
from benchmark.leaderboard import leaderboard
from benchmark.registry import register_model

__all__ = ["__version__", "check_model", "compare", "draw", "evaluate", "leaderboard", "load", "model",
           "register_model", "report", "run", "scenarios"]
