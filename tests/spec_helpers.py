"""Helpers shared by tests: tiny scenario files, so harness tests run in seconds."""

from __future__ import annotations

import textwrap
from pathlib import Path

TINY_SPEC = """
[scenario]
name = "{name}"
family = "gaussian_spurious"
description = "tiny test scenario"

[params]
train_correlation = 0.9
n_noise = 1

[shift]
levels = [0.0, 0.5, 1.0]

[run]
n_train = [{n_train}]
n_test = 400
seeds = {seeds}
"""


def write_spec(directory: Path, name: str = "tiny", *, n_train: str = "100", seeds: int = 2,
               body: str | None = None) -> Path:
    """Write a scenario file (the tiny default, or `body`) and return its path."""
    path = directory / f"{name}.toml"
    text = body if body is not None else TINY_SPEC.format(name=name, n_train=n_train, seeds=seeds)
    path.write_text(textwrap.dedent(text))
    return path
