"""The paper experiments: each reads its scenarios from a run, draws its figures and states what
it found, by fixed rules from the numbers; `render.write_report` writes them to
`RUN/experiments.md`.

A scenario belongs to an experiment through `experiment = "<tag>"` in its spec, recorded in
`run.json`; "accuracy on the line" reads every scenario with a shift. One public module per
experiment, each defining `EXPERIMENT`, found by `discover` (adding an experiment touches one
file); the `_`-prefixed modules hold what they share: `_common` (the `Experiment`, `Section` and
`Pending` types, selections, sentences), `_stats` (the statistics findings are stated with) and
`_plots` (figure builders).

An experiment's `analyse` runs once per report and computes its numbers; its text, which states
verdicts at the corrected level, comes back as a `Pending` whose `write(verdicts)` the renderer
calls with a `claims.Recorder` (collecting its claims as values) and, after the one joint
correction, with the `claims.Corrected` result. `written` gives the section outside a report
(uncorrected).
"""

from __future__ import annotations

import importlib
import pkgutil

from spurbench.report.experiments._common import Experiment, FigurePlan, Params, Pending, Section, written

__all__ = ["Experiment", "FigurePlan", "Params", "Pending", "Section", "discover", "experiment_params",
           "written"]


def discover() -> tuple[Experiment, ...]:
    """Every experiment module's `EXPERIMENT`, in their declared `order`.

    Raises
    ------
    TypeError
        When a public module of the package defines no `EXPERIMENT`: a helper module must start
        with `_`, so a forgotten definition is an error rather than a silently missing section.
    """
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        experiment = getattr(module, "EXPERIMENT", None)
        if not isinstance(experiment, Experiment):
            raise TypeError(f"{module.__name__} defines no EXPERIMENT (helpers start with '_')")
        found.append(experiment)
    return tuple(sorted(found, key=lambda e: (e.order, e.title)))


def experiment_params(meta: dict, tag: str | None) -> Params:
    """Scenario name -> params for the run's scenarios tagged `tag` (every scenario for None)."""
    return {s["name"]: s.get("params", {}) for s in meta.get("scenarios", [])
            if tag is None or s.get("experiment") == tag}
