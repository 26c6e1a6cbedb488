"""The migration steps of ``dolmen new``: a project's first migration, a module's history.

Dolmen's migrations (``dolmen db``) are not part of this release yet: a project and its new
modules create their tables when the app starts. The two steps below are where
``dolmen new`` will write a module's empty migration history and a project's first
migration; each returns the files it adds.
"""

from __future__ import annotations

from pathlib import Path

from dolmen.scaffold._render import RenderedFile


def empty_history(module: str) -> list[RenderedFile]:
    """The files of ``module``'s empty migration history, relative to its package."""
    del module
    return []


def write_first_migration(project: Path, app_spec: str, module: str) -> list[Path]:
    """Write the first migration of ``module`` in the project at ``project``; its files."""
    del project, app_spec, module
    return []
