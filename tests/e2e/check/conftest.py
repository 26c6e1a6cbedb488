"""Fixture codebases for dolmen check run as a command, copied to a temporary folder first."""

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


@pytest.fixture
def shop_copy(tmp_path: Path) -> Path:
    """A copy of the example shop with its own pyproject.toml."""
    target = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "shop", target / "examples" / "shop",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (target / "pyproject.toml").write_text('[tool.dolmen.check]\nroots = ["examples"]\n')
    return target
