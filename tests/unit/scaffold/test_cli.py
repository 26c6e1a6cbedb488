"""``dolmen new``: what it prints, and its exit statuses (0 done, 2 refused, 1 half done)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dolmen.cli import cli
from dolmen.scaffold import _project


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI in a scratch folder; the first migration (a subprocess, tested end to end in
    tests/e2e/test_new_project.py) is left out."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_project, "write_first_migration", lambda *args: [])
    return CliRunner()


def test_a_project_is_written_and_the_next_commands_shown(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["new", "project", "acme"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("wrote project 'acme' in acme/ (")
    assert "./scripts/run" in result.stdout
    assert Path("acme/acme/app.py").is_file()


def test_a_refused_project_name_exits_2_and_writes_nothing(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["new", "project", "json"])
    assert result.exit_code == 2
    assert "project name 'json' is a module of Python's standard library" in result.output
    assert list(Path().iterdir()) == []


def test_a_module_is_added_and_where_it_is_listed_is_shown(runner: CliRunner) -> None:
    runner.invoke(cli, ["new", "project", "acme"])
    result = runner.invoke(cli, ["new", "module", "billing", "--project", "acme"])
    assert result.exit_code == 0, result.output
    assert "wrote module 'billing' in acme/acme/billing/" in result.stdout
    assert "GET /billing" in result.stdout


def test_a_refused_module_name_exits_2(runner: CliRunner) -> None:
    runner.invoke(cli, ["new", "project", "acme"])
    result = runner.invoke(cli, ["new", "module", "notes", "--project", "acme"])
    assert result.exit_code == 2
    assert "Error: module name 'notes' is taken" in result.output


def test_a_module_the_app_cannot_list_exits_1_with_the_lines_to_add(runner: CliRunner) -> None:
    runner.invoke(cli, ["new", "project", "acme"])
    app_file = Path("acme/acme/app.py")
    app_file.write_text(app_file.read_text().replace("modules=[notes]", "modules=MODULES"))
    result = runner.invoke(cli, ["new", "module", "billing", "--project", "acme"])
    assert result.exit_code == 1
    assert "wrote module 'billing' (13 files), but:" in result.output
    assert "from acme.billing.module import module as billing" in result.output
