"""Suppressions name rules that exist, and each one suppresses something or is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from dolmen.check._runner import run_check
from dolmen.check.exceptions import CheckConfigError
from tests.dolmen_runner import dolmen
from tests.unit.check.test_configuration import MODULES, SETTINGS, project

PRIVATE = "from acme.billing.gateway import charge"


def with_gateway(root: Path, service: str, settings: str = SETTINGS) -> Path:
    return project(
        root,
        settings + MODULES,
        **{
            "src/acme/billing/gateway.py": "def charge(): ...\n",
            "src/acme/orders/service.py": service,
        },
    )


def rules(root: Path) -> list[tuple[str, int, str]]:
    return sorted((v.rule, v.line, v.target) for v in run_check(root).violations)


def test_a_suppression_naming_no_rule_is_a_configuration_error_at_its_line(
    tmp_path: Path,
) -> None:
    with_gateway(tmp_path, f"\n{PRIVATE}  # dolmen: ignore[privat-import] moving it\n")
    with pytest.raises(CheckConfigError) as raised:
        run_check(tmp_path)
    assert raised.value.problems == [
        "src/acme/orders/service.py:2: the suppression names 'privat-import', which is not a "
        "rule (did you mean 'private-import'?)"
    ]
    result = dolmen("check", str(tmp_path))
    assert result.returncode == 2
    assert "src/acme/orders/service.py:2: the suppression names 'privat-import'" in result.stderr


def test_a_suppression_that_matches_nothing_is_reported_as_unused(tmp_path: Path) -> None:
    service = "import os  # dolmen: ignore[private-import] legacy\n"
    with_gateway(tmp_path, service)
    report = run_check(tmp_path)
    [unused] = report.violations
    assert (unused.rule, unused.path, unused.line, unused.col) == (
        "unused-suppression", "src/acme/orders/service.py", 1, 12,
    )  # fmt: skip
    assert unused.message == (
        "the suppression of private-import on this line matches no violation; remove "
        "private-import from it (or the whole comment)"
    )
    assert unused.module == "orders"


def test_only_the_rules_of_a_suppression_that_match_nothing_are_unused(tmp_path: Path) -> None:
    service = f"{PRIVATE}  # dolmen: ignore[private-import, layer-violation] moving it\n"
    with_gateway(tmp_path, service)
    assert rules(tmp_path) == [("unused-suppression", 1, "layer-violation")]
    assert len(run_check(tmp_path).suppressed) == 1


def test_a_suppression_without_a_reason_that_matches_is_not_unused(tmp_path: Path) -> None:
    service = (
        f"{PRIVATE}  # dolmen: ignore[private-import]\n"
        "import os  # dolmen: ignore[private-import] legacy\n"
    )
    with_gateway(tmp_path, service)
    assert rules(tmp_path) == [
        ("private-import", 1, "acme.billing.gateway"),
        ("unused-suppression", 2, "private-import"),
    ]


def test_rules_that_do_not_run_leave_their_suppressions_alone(tmp_path: Path) -> None:
    settings = SETTINGS + 'ignore = ["layer-violation"]\n'
    service = (
        "import os  # dolmen: ignore[layer-violation] legacy\n"
        "import sys  # dolmen: ignore[private-import] legacy\n"
    )
    with_gateway(tmp_path, service, settings)
    assert rules(tmp_path) == [("unused-suppression", 2, "private-import")]


def test_unused_suppression_can_itself_be_suppressed_or_left_out(tmp_path: Path) -> None:
    service = "import os  # dolmen: ignore[private-import, unused-suppression] kept for #12\n"
    with_gateway(tmp_path, service)
    assert rules(tmp_path) == []
    with_gateway(tmp_path, "import os  # dolmen: ignore[private-import] legacy\n",
                 SETTINGS + 'ignore = ["unused-suppression"]\n')  # fmt: skip
    assert rules(tmp_path) == []


def test_suppressions_are_found_at_the_lines_python_counts(tmp_path: Path) -> None:
    # U+2028 and a form feed end lines for str.splitlines, not for Python.
    service = f'NOTE = "a\u2028b"\n\x0c\n{PRIVATE}  # dolmen: ignore[private-import] moving it\n'
    with_gateway(tmp_path, service)
    report = run_check(tmp_path)
    assert [(v.rule, v.line) for v in report.suppressed] == [("private-import", 3)]
    assert report.violations == []


def test_an_unused_suppression_is_reported_again_from_the_cache(tmp_path: Path) -> None:
    with_gateway(tmp_path, "import os  # dolmen: ignore[private-import] legacy\n")
    first = rules(tmp_path)
    assert first == rules(tmp_path) == [("unused-suppression", 1, "private-import")]
