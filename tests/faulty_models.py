"""Models that misbehave the way real ones do: they kill their process, exit, hang in C code
holding the GIL, or sleep. Factories carry their paradigm, so they work with `--model
faulty_models:NAME` on the command line and with `register_model` in tests."""

from __future__ import annotations

import os
import re
import signal
import time

from sklearn.naive_bayes import GaussianNB


class _Faulty(GaussianNB):
    """GaussianNB whose `fit` first does `self.fault` (a name, so the estimator stays clonable)."""

    def __init__(self, fault: str = "none"):
        super().__init__()
        self.fault = fault

    def fit(self, X, y, sample_weight=None):
        if self.fault == "os_exit":
            os._exit(3)
        elif self.fault == "sigkill":  # what the OOM killer does
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.fault == "system_exit":
            raise SystemExit(0)
        elif self.fault == "gil_hang":  # catastrophic backtracking: C code that keeps the GIL
            re.match(r"(a+)+$", "a" * 64 + "b")
        elif self.fault == "sleep":
            time.sleep(60)
        return super().fit(X, y, sample_weight)


def factory(fault: str):
    """A model factory whose estimator does `fault` when fitted."""

    def make(random_state: int) -> _Faulty:
        return _Faulty(fault)

    make.paradigm = "generative"
    make.__name__ = make.__qualname__ = f"make_{fault}"
    return make


os_exit = factory("os_exit")
sigkill = factory("sigkill")
system_exit = factory("system_exit")
gil_hang = factory("gil_hang")
sleep = factory("sleep")
