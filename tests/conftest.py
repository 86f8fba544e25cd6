"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_helpers import write_spec


@pytest.fixture
def tiny_spec(tmp_path: Path) -> Path:
    return write_spec(tmp_path)
