"""A file Python cannot parse is a parse-error at its line, never checked in silence."""

from __future__ import annotations

import sys
from pathlib import Path

from dolmen.check._runner import run_check

from .test_configuration import MODULES, project

PYTHON = f"Python {sys.version_info.major}.{sys.version_info.minor}"


def parse_errors(root: Path, *, use_cache: bool = True) -> list[tuple[str, int, str]]:
    report = run_check(root, use_cache=use_cache)
    return [(v.path, v.line, v.message) for v in report.violations if v.rule == "parse-error"]


def test_a_syntax_error_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    project(tmp_path, **{"src/acme/orders/domain.py": "import os\n\ndef broken(:\n    pass\n"})
    [(path, line, message)] = parse_errors(tmp_path)
    assert (path, line) == ("src/acme/orders/domain.py", 3)
    assert message.startswith(f"{PYTHON}, which runs the check, cannot parse this file (")
    assert "fix it" in message


def test_an_error_python_finds_after_parsing_counts_too(tmp_path: Path) -> None:
    source = "def f():\n    x = 1\n    global x\n"
    project(tmp_path, **{"src/acme/orders/names.py": source})
    [(path, line, message)] = parse_errors(tmp_path)
    assert (path, line) == ("src/acme/orders/names.py", 3)
    assert "assigned to before global declaration" in message


def test_the_imports_of_a_file_with_a_syntax_error_are_still_judged(tmp_path: Path) -> None:
    source = "from acme.billing.gateway import charge\n\nx = (\n"
    project(tmp_path, **{"src/acme/orders/service.py": source, "src/acme/billing/gateway.py": ""})
    report = run_check(tmp_path)
    assert sorted((v.rule, v.line) for v in report.violations) == [
        ("parse-error", 3),
        ("private-import", 1),
    ]


def test_a_warning_of_the_file_itself_is_neither_its_error_nor_shown(tmp_path: Path) -> None:
    # pytest turns warnings into errors here: the invalid escape of line 1 would be one.
    project(tmp_path, **{"src/acme/orders/escape.py": 'PATTERN = "\\d+"\nx = (\n'})
    assert [line for _, line, _ in parse_errors(tmp_path)] == [2]


def test_a_file_fixed_since_the_last_run_is_judged_again(tmp_path: Path) -> None:
    project(tmp_path, **{"src/acme/orders/bad.py": "x = (\n"})
    assert len(parse_errors(tmp_path)) == 1
    (tmp_path / "src/acme/orders/bad.py").write_text("x = ()\n")
    assert parse_errors(tmp_path) == []


def test_ignoring_parse_error_spares_the_parse(tmp_path: Path) -> None:
    settings = '[tool.dolmen.check]\nroots = ["src"]\nignore = ["parse-error"]\n'
    project(tmp_path, settings + MODULES, **{"src/acme/orders/bad.py": "x = (\n"})
    assert parse_errors(tmp_path) == []
    # Selected again later, the files read without their syntax judged are judged now.
    (tmp_path / "pyproject.toml").write_text('[tool.dolmen.check]\nroots = ["src"]\n' + MODULES)
    assert [line for _, line, _ in parse_errors(tmp_path)] == [1]


def test_pep_695_code_is_judged_by_the_python_that_runs_the_check(tmp_path: Path) -> None:
    """Python 3.11 cannot parse it: a parse-error naming that Python, the file still checked.

    From Python 3.12 on, the same file is no parse error. (One test for both, so that
    neither is skipped on the Python CI runs.)
    """
    source = (
        "from acme.billing.gateway import charge\n\n\nclass Box[T]:\n    type Items = list[T]\n"
    )
    project(tmp_path, **{"src/acme/orders/box.py": source, "src/acme/billing/gateway.py": ""})
    report = run_check(tmp_path)
    found = sorted((v.rule, v.line) for v in report.violations)
    if sys.version_info >= (3, 12):
        assert found == [("private-import", 1)]
        return
    assert found == [("parse-error", 4), ("private-import", 1)]
    [error] = [v for v in report.violations if v.rule == "parse-error"]
    assert "Python 3.11, which runs the check, cannot parse this file" in error.message
    assert "written for a newer Python needs dolmen check run by that Python" in error.message
