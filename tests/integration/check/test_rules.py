"""dolmen check on the shop (its event-schema rule imports the app in a process of its own),
and many files scanned in worker processes with the verdicts of one process.

PARALLEL_FROM is lowered from 400 files to one, so the small codebases here go through the
worker processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dolmen.check._runner import run_check
from tests.unit.check.test_rules import EXPECTED

from .conftest import REPO


def test_the_shop_checks_clean() -> None:
    report = run_check(REPO, use_cache=False)
    assert report.violations == []
    assert {m.name for m in report.project.modules} == {
        "catalog",
        "orders",
        "billing",
        "notifications",
    }
    assert report.files > 40


def test_many_files_are_scanned_in_parallel_with_the_same_result(
    acme: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dolmen.check import _cache

    monkeypatch.setattr(_cache, "PARALLEL_FROM", 1)
    report = run_check(acme, use_cache=False)
    assert sorted((v.rule, v.path, v.line) for v in report.violations) == sorted(EXPECTED)
