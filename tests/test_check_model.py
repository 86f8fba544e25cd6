"""`spurbench check-model`: every rule passes for a well-behaved factory; a model that breaks the
contract fails the rules it breaks, by name, and the command exits non-zero."""

from __future__ import annotations

import sys
import textwrap

import pytest
from spurbench import registry
from spurbench.interface.cli import main

MODELS = '''
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

SHARED = LogisticRegression()


def good(random_state):
    """Logistic regression, a new one per call."""
    return LogisticRegression(random_state=random_state)


good.paradigm = "discriminative"


class Unnormalised(ClassifierMixin, BaseEstimator):
    """Scores that do not sum to one, from a random draw that ignores random_state."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.random.default_rng().uniform(0, 1, size=(len(X), 2))


def bad(random_state):
    return SHARED if random_state == 0 else Unnormalised()


bad.paradigm = "discriminative"
'''


@pytest.fixture
def models_module(tmp_path, monkeypatch):
    """The demo module on sys.path; the references it registers stay in a private registry."""
    (tmp_path / "check_models_demo.py").write_text(textwrap.dedent(MODELS))
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.list_models()
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))
    yield "check_models_demo"
    sys.modules.pop("check_models_demo", None)


def test_a_good_model_passes_every_rule(models_module, capsys):
    assert main(["check-model", f"{models_module}:good"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count("PASS") == 7


def test_a_bad_model_fails_the_rules_it_breaks_and_exits_non_zero(models_module, capsys):
    assert main(["check-model", f"{models_module}:bad"]) == 1
    out = capsys.readouterr().out
    assert "FAIL  a fresh, unfitted estimator per call" in out
    assert "FAIL  deterministic under a fixed random_state" in out
    assert "PASS  classes_ after fit" in out


def test_version_flag_prints_the_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith("spurbench ")
