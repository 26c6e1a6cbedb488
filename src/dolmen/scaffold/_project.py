"""``dolmen new project``: write a runnable project with one example module."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dolmen._version import __version__
from dolmen.scaffold._migrations import empty_history, write_first_migration
from dolmen.scaffold._names import check_project_name
from dolmen.scaffold._render import RenderedFile, render_tree
from dolmen.scaffold._writing import write_all
from dolmen.scaffold.exceptions import ScaffoldError

EXAMPLE_MODULE = "notes"
"""The module a new project starts with: a small, complete example to copy from."""


@dataclass(frozen=True)
class NewProject:
    """A project written by :func:`create_project`: where, and the files it holds."""

    name: str
    root: Path
    files: tuple[Path, ...]

    @property
    def app_spec(self) -> str:
        """The app to serve, as ``dolmen run`` takes it."""
        return f"{self.name}.app:app"


def create_project(
    name: str,
    directory: Path | None = None,
    *,
    dolmen_source: Path | None = None,
    first_migration: bool = True,
) -> NewProject:
    """Write the project ``name`` into ``directory`` (default ``./name``), all or nothing.

    ``dolmen_source`` is a checkout of Dolmen that the project's scripts install instead of the
    released package (they read ``DOLMEN_SOURCE``; this sets its default). With
    ``first_migration`` (the default), the example module's first migration is written by
    ``dolmen db revision --autogenerate``, run in the new project (a second or two); without
    it, its history is empty and ``dolmen db check`` fails until it is written. Raises
    :class:`~dolmen.scaffold.InvalidNameError` or :class:`~dolmen.scaffold.ScaffoldError`,
    having written nothing.
    """
    check_project_name(name)
    root = (directory if directory is not None else Path(name)).absolute()
    empty_folder = root.is_dir() and not root.is_symlink() and not any(root.iterdir())
    if root.exists() and not empty_folder:
        raise ScaffoldError(f"{root} exists already; choose another folder or remove it first")
    source = _dolmen_source(dolmen_source)
    variables = {
        "project": name,
        "package": name,
        "title": name.replace("_", " ").capitalize(),
        "dolmen_version": __version__,
        "dolmen_source_default": (
            f': "${{DOLMEN_SOURCE:={shlex.quote(str(source))}}}"  # dolmen new --dolmen-source'
            if source
            else "# DOLMEN_SOURCE unset: the released Dolmen is installed from the index"
        ),
    }
    rendered = render_tree("project", variables)
    rendered += _example_module(name, variables)
    if empty_folder:
        root.rmdir()  # a folder made for the project: it becomes the project
    try:
        write_all({root: rendered})
    except BaseException:
        if empty_folder:
            root.mkdir(exist_ok=True)
        raise
    written = [root.joinpath(*file.path.parts) for file in rendered]
    if first_migration:
        try:
            written += write_first_migration(root, f"{name}.app:app", EXAMPLE_MODULE)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            if empty_folder:
                root.mkdir(exist_ok=True)
            raise
    return NewProject(name, root, tuple(sorted(written)))


def _example_module(project: str, variables: dict[str, str]) -> list[RenderedFile]:
    """The example module's files and tests, placed in the project's package and tests."""
    module_variables = {**variables, "module": EXAMPLE_MODULE}
    placed = []
    for file in render_tree("example_module", module_variables):
        first, *rest = file.path.parts
        folder = ("tests", EXAMPLE_MODULE) if first == "tests" else (project, EXAMPLE_MODULE)
        placed.append(RenderedFile(PurePosixPath(*folder, *rest), file.text))
    for file in empty_history(EXAMPLE_MODULE):
        placed.append(RenderedFile(PurePosixPath(project, EXAMPLE_MODULE, file.path), file.text))
    return placed


def _dolmen_source(path: Path | None) -> Path | None:
    if path is None:
        return None
    resolved = path.expanduser().resolve()
    if not (resolved / "pyproject.toml").is_file():
        raise ScaffoldError(
            f"--dolmen-source {path}: no pyproject.toml there; give the folder of a Dolmen "
            "checkout (the one holding pyproject.toml and src/dolmen)"
        )
    return resolved
