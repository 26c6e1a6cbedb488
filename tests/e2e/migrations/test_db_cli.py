"""``dolmen db`` as a user runs it: a module's first migration written, applied, then a drift."""

from __future__ import annotations

from pathlib import Path

from tests.dolmen_runner import dolmen

MODULE = """
from sqlalchemy import Column, Integer, String
from dolmen import Module, ModuleTables

tables = ModuleTables("notes")
tables.table(
    "notes",
    Column("id", Integer, primary_key=True),
    Column("text", String(200), nullable=False),
    {extra}
)
module = Module("notes", tables=tables)
"""


def write_project(root: Path, extra: str = "") -> None:
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "__init__.py").write_text("")
    (root / "notes" / "module.py").write_text(MODULE.format(extra=extra))
    (root / "app.py").write_text(
        "from dolmen import App\nfrom notes.module import module\n"
        "app = App('notes', modules=[module])\n"
    )
    (root / "pyproject.toml").write_text('[tool.dolmen]\napp = "app:app"\n')


def db(root: Path, *args: str) -> tuple[int, str, str]:
    url = f"sqlite:///{root / 'var' / 'notes.db'}"
    result = dolmen(
        "db", *args, cwd=root, env={"PYTHONPATH": str(root), "DOLMEN_DATABASE_URL": url}
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def test_a_first_migration_is_written_and_applied_and_a_drift_fails_the_check(
    tmp_path: Path,
) -> None:
    write_project(tmp_path)
    code, out, _ = db(tmp_path, "revision", "--module", "notes", "-m", "Create notes",
                      "--autogenerate")  # fmt: skip
    first = tmp_path / "notes" / "migrations" / "versions" / "notes_0001_create_notes.py"
    assert (code, out.strip()) == (0, f"wrote {first}")
    assert "op.create_table(" in first.read_text()

    code, out, _ = db(tmp_path, "upgrade")
    assert (code, out.splitlines()) == (
        0,
        ["upgraded dolmen: nothing -> dolmen_0003", "upgraded notes: nothing -> notes_0001"],
    )

    write_project(tmp_path, extra='Column("pinned", Integer, nullable=True),')  # a drift
    code, _, err = db(tmp_path, "check")
    assert code == 1
    assert "module 'notes'" in err
    assert "pinned" in err
    assert "dolmen db revision --module M" in err


def test_a_wrong_command_is_one_line_naming_what_to_do(tmp_path: Path) -> None:
    write_project(tmp_path)
    code, _, err = db(tmp_path, "current")
    assert code == 2
    assert err.splitlines()[-1] == (
        f"Error: no database at {tmp_path / 'var' / 'notes.db'} yet; dolmen db upgrade creates it"
    )
    assert not (tmp_path / "var").exists()
    code, _, err = db(tmp_path, "upgrade", "notes_0001")
    assert code == 1
    assert err.splitlines()[-1] == (
        "Error: revision 'notes_0001' belongs to one module's history: name it with --module"
    )
