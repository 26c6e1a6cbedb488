"""Generated files are written all or nothing."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from dolmen.scaffold import ScaffoldError
from dolmen.scaffold._render import RenderedFile
from dolmen.scaffold._writing import write_all


def files(*pairs: tuple[str, str]) -> list[RenderedFile]:
    return [RenderedFile(PurePosixPath(path), text) for path, text in pairs]


def listing(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_folders_and_edits_are_written(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("before\n")
    write_all(
        {tmp_path / "billing": files(("__init__.py", ""), ("domain/x.py", "x = 1\n"))},
        {tmp_path / "app.py": "after\n"},
    )
    assert (tmp_path / "billing/domain/x.py").read_text() == "x = 1\n"
    assert (tmp_path / "app.py").read_text() == "after\n"
    assert listing(tmp_path) == ["app.py", "billing", "billing/__init__.py", "billing/domain",
                                 "billing/domain/x.py"]  # fmt: skip


def test_scripts_are_written_executable(tmp_path: Path) -> None:
    write_all({tmp_path / "p": files(("run", "#!/bin/sh\necho hi\n"), ("notes.txt", "hi\n"))})
    assert (tmp_path / "p/run").stat().st_mode & 0o100
    assert not (tmp_path / "p/notes.txt").stat().st_mode & 0o100


def test_an_existing_folder_stops_everything_before_a_file_is_written(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "app.py").write_text("before\n")
    with pytest.raises(ScaffoldError, match="exists already; nothing was written"):
        write_all(
            {tmp_path / "billing": files(("a.py", "")), tmp_path / "tests": files(("b.py", ""))},
            {tmp_path / "app.py": "after\n"},
        )
    assert listing(tmp_path) == ["app.py", "tests"]
    assert (tmp_path / "app.py").read_text() == "before\n"


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("before\n")
    broken = files(("a.py", ""), ("a.py/b.py", ""))  # a file where a folder must go
    with pytest.raises(OSError):  # noqa: PT011 - the platform's own error, whichever it is
        write_all(
            {tmp_path / "billing": files(("x.py", "")), tmp_path / "tests": broken},
            {tmp_path / "app.py": "after\n"},
        )
    assert listing(tmp_path) == ["app.py"]
    assert (tmp_path / "app.py").read_text() == "before\n"
