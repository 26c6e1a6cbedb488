"""create_project and add_module: what they write, and that a refusal writes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from dolmen.scaffold import (
    InvalidNameError,
    RegistrationError,
    ScaffoldError,
    _project,
    add_module,
    create_project,
)


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): path.read_text() if path.is_file() else "<dir>"
        for path in sorted(root.rglob("*"))
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return create_project("acme", tmp_path / "acme", first_migration=False).root


def test_a_project_holds_its_app_module_tests_and_scripts(project: Path) -> None:
    for part in ("pyproject.toml", "README.md", ".ci/run", ".gitignore", "scripts/test",
                 "acme/app.py", "acme/dolmen.toml", "acme/notes/module.py", "tests/conftest.py",
                 "tests/notes/test_notes_http.py"):  # fmt: skip
        assert (project / part).is_file(), part
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == ["dolmen>=0.1.0"]
    assert pyproject["tool"]["dolmen"]["app"] == "acme.app:app"
    readme = (project / "README.md").read_text()
    assert "./scripts/run" in readme
    assert "./scripts/test" in readme


def test_the_dolmen_source_becomes_the_scripts_default(tmp_path: Path) -> None:
    checkout = tmp_path / "dolmen checkout"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text("")
    root = create_project(
        "acme", tmp_path / "acme", dolmen_source=checkout, first_migration=False
    ).root
    script = (root / "scripts/_venv.sh").read_text()
    assert f": \"${{DOLMEN_SOURCE:='{checkout}'}}\"" in script


def test_a_dolmen_source_without_a_pyproject_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"no pyproject\.toml there"):
        create_project("acme", tmp_path / "acme", dolmen_source=tmp_path)
    assert not (tmp_path / "acme").exists()


def test_a_project_goes_into_an_empty_folder_but_not_a_full_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    create_project("acme", tmp_path / "empty", first_migration=False)
    assert (tmp_path / "empty/acme/app.py").is_file()
    (tmp_path / "full").mkdir()
    (tmp_path / "full/keep.txt").write_text("mine")
    with pytest.raises(ScaffoldError, match="exists already"):
        create_project("acme", tmp_path / "full", first_migration=False)
    assert snapshot(tmp_path / "full") == {"keep.txt": "mine"}


def test_a_module_is_written_tested_and_listed_in_the_app(project: Path) -> None:
    added = add_module("billing", project)
    assert added.registered
    assert (project / "acme/billing/web.py").is_file()
    assert (project / "tests/billing/test_http.py").is_file()
    app = (project / "acme/app.py").read_text()
    assert "from acme.billing.module import module as billing\n" in app
    assert "modules=[notes, billing]" in app
    assert project / "acme/billing/module.py" in added.files


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("notes", "module 'notes' is declared in"),
        ("app", "taken by Dolmen"),
        ("events", "taken by Dolmen"),
        ("create_app", "already uses the name 'create_app'"),
        ("conftest", "conftest.py exists"),
        ("json", "standard library"),
        ("for", "Python keyword"),
        ("Billing", "not valid"),
    ],
)
def test_a_refused_module_name_writes_nothing(project: Path, name: str, says: str) -> None:
    before = snapshot(project)
    with pytest.raises(InvalidNameError, match=says):
        add_module(name, project)
    assert snapshot(project) == before


def test_a_module_folder_left_behind_is_a_clash(project: Path) -> None:
    (project / "acme/billing").mkdir()
    with pytest.raises(InvalidNameError, match="billing exists"):
        add_module("billing", project)


def test_an_app_it_cannot_edit_gets_the_module_and_the_lines_to_add(project: Path) -> None:
    app_file = project / "acme/app.py"
    app_file.write_text(app_file.read_text().replace("modules=[notes]", "modules=MODULES"))
    before = app_file.read_text()
    with pytest.raises(RegistrationError) as refused:
        add_module("billing", project)
    assert "from acme.billing.module import module as billing" in str(refused.value)
    assert app_file.read_text() == before
    assert project / "acme/billing/module.py" in refused.value.files
    assert (project / "acme/billing/module.py").is_file()


def test_a_folder_that_is_not_a_project_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"no app found in .*pyproject.toml"):
        add_module("billing", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_new_module_starts_an_empty_migration_history(project: Path) -> None:
    add_module("billing", project)
    versions = project / "acme/billing/migrations/versions"
    assert [path.name for path in versions.iterdir()] == ["README.md"]
    assert "dolmen db revision --module billing" in (versions / "README.md").read_text()


def test_a_failed_first_migration_leaves_no_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(project: Path, app_spec: str, module: str) -> list[Path]:
        raise ScaffoldError("could not write the first migration of 'notes'")

    monkeypatch.setattr(_project, "write_first_migration", failing)
    with pytest.raises(ScaffoldError, match="first migration"):
        create_project("acme", tmp_path / "acme")
    assert list(tmp_path.iterdir()) == []
