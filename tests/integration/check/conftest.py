"""Fixture codebases for dolmen check, copied to a temporary folder before each use."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "check_fixtures"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def acme(tmp_path: Path) -> Path:
    """A codebase with one violation of every rule (tests/check_fixtures/acme)."""
    target = tmp_path / "acme"
    shutil.copytree(FIXTURES / "acme", target)
    return target
