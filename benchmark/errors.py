"""Errors a user can cause. The CLI catches `SpurbenchError` once, prints one line, exits 2.

Anything else is a bug and stays a traceback.
"""

from __future__ import annotations


class SpurbenchError(Exception):
    """Base class for every error caused by the user's input, not by a bug."""


class ParameterError(SpurbenchError):
    """A parameter is out of its allowed range; `field` names it so the spec loader can add the file."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SpecError(SpurbenchError):
    """A scenario file is malformed or holds an invalid value."""

    def __init__(self, path: object, field: str | None, message: str):
        where = f"{path}" if field is None else f"{path}: {field}"
        super().__init__(f"{where}: {message}")
        self.path = path
        self.field = field


class SpecErrors(SpecError):
    """Every problem found in one scenario file. As an error message it is one line (the first
    problem and how many more); `spurbench validate` lists them all."""

    def __init__(self, errors: list[SpecError]):
        more = f" (and {len(errors) - 1} more: `spurbench validate` lists them)" if len(errors) > 1 else ""
        first = errors[0]
        SpurbenchError.__init__(self, f"{first}{more}")
        self.path, self.field, self.errors = first.path, first.field, errors


class ModelError(SpurbenchError):
    """A model the user named (`--model`, `run(models=...)`) whose factory raises, or returns
    something the harness cannot fit and score."""


class NothingToReport(SpurbenchError):
    """A run directory without one successful fit: no figure, table or claim can be made."""


class UnknownNameError(SpurbenchError):
    """A model, generator or scenario name that is not registered."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT during a run: stored fits are kept, the command line exits 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
