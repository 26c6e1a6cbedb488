"""The dolmen command: version, help, and one-line errors with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

import dolmen as dolmen_package
from tests.dolmen_runner import dolmen


def test_version_prints_the_installed_version() -> None:
    result = dolmen("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dolmen, version {dolmen_package.__version__}"


@pytest.mark.parametrize("command", [[], ["run"], ["demo"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = dolmen(*command, "--help")
    assert result.returncode == 0
    assert "Usage: " in result.stdout


def test_run_with_a_malformed_app_spec_is_a_usage_error() -> None:
    result = dolmen("run", "shop.app")
    assert result.returncode == 2
    assert "APP must read 'package.module:attribute'" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_with_an_unknown_module_says_what_to_check(tmp_path: Path) -> None:
    result = dolmen("run", "nosuchpackage.app:app", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot import 'nosuchpackage.app'")
    assert "Traceback" not in result.stderr


def test_run_with_a_broken_composition_prints_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "from dolmen import App, Module\n"
        "app = App('x', modules=[Module('a', depends_on=['b']), Module('b', depends_on=['a'])])\n"
    )
    result = dolmen("run", "broken:app", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "modules depend on each other in a cycle: " in lines[0]
    assert "Traceback" not in result.stderr


def test_run_with_an_unusable_database_fails_before_serving(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from dolmen import App, Module\n"
        "app = App('x', modules=[Module('a')],\n"
        "          config={'app': {'database_url': 'mysql://nobody@localhost/x'}})\n"
    )
    result = dolmen("run", "app:app", "--port", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert "Dolmen supports SQLite and PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
