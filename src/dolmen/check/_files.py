"""List the Python files of a codebase, fast: the first step of every check.

Kept free of heavy imports: a warm ``dolmen check`` runs this before anything else.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Sequence

DEFAULT_ROOTS = (".",)
DEFAULT_BASELINE = "dolmen-baseline.json"
DEFAULT_CACHE_DIR = ".dolmen_cache"
CACHE_VERSION = (14, sys.implementation.cache_tag)
"""The version of every cache file of ``dolmen check`` (imports, results, answers), all marshal
data of plain tuples, never pickle: bump it when anything cached changes shape or meaning.
marshal's format may change between Python versions, so theirs is part of it."""
DEFAULT_EVENTS_LOCK = "events.lock.json"

_SKIPPED_DIRS = {"__pycache__", "node_modules", "venv", "site-packages"}
"""Folders never searched (hidden ones and those that are not identifiers neither)."""


Skipped = tuple[str, str, str]
"""A file or folder under the roots that could not be looked at: (path, dotted name, reason)."""

Folder = tuple[str, int, tuple[str, ...] | None]
"""A folder listed: its path, its modification time taken before it was listed, and, when
that time was too recent to be trusted (see :func:`settled`), the names found in it."""


def python_files(
    root: str,
    roots: Sequence[str],
    exclude: Sequence[str],
    folders: list[Folder] | None = None,
    problems: list[Skipped] | None = None,
) -> list[tuple[str, str]]:
    """Every ``.py`` file under the source roots (path relative to ``root``, dotted name).

    Files whose names are not identifiers (``0001_initial.py``) cannot be imported
    by name and are left out, as are hidden and virtual-environment folders and folders
    reached through a symbolic link. When ``folders`` is given, every folder listed is
    added to it: while no folder's time changes (and a recent one still holds the same
    names), no file came or went. When ``problems`` is given, every file or folder that
    could not be looked at (a symbolic link loop, a link to nothing, a folder that cannot
    be listed) is added to it with the reason, so that none is skipped in silence.
    """
    top = os.path.normpath(root)
    excluded = excluded_paths(top, exclude)
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for source_root in roots:
        base = os.path.normpath(os.path.join(top, source_root))
        if base in seen:
            continue
        seen.add(base)
        shown = os.path.relpath(base, top) if base != top else ""
        _walk(base, shown, [], excluded, found, folders, problems)
    found.sort()
    if problems is not None:
        problems.sort()
    return found


def excluded_paths(root: str, exclude: Sequence[str]) -> set[str]:
    """The absolute, normalised paths that ``exclude`` names."""
    return {os.path.normpath(os.path.join(root, e)) for e in exclude}


def folder_unchanged(folder: Folder, excluded: set[str]) -> bool:
    """Whether ``folder`` holds the same files and folders as when it was listed."""
    path, mtime, names = folder
    try:
        if os.stat(path).st_mtime_ns != mtime:
            return False
        if names is None:
            return True
        files, below = _entries(path, excluded)
    except OSError:
        return False
    return _names(files, below) == names


def _walk(
    folder: str,
    shown: str,
    prefix: list[str],
    excluded: set[str],
    found: list[tuple[str, str]],
    folders: list[Folder] | None,
    problems: list[Skipped] | None,
) -> None:
    """Add the importable ``.py`` files under ``folder`` (``os.scandir``: no ``stat`` per entry)."""
    try:
        if folders is not None:
            listed_at = time.time_ns()
            mtime = os.stat(folder).st_mtime_ns
        files, below = _entries(folder, excluded, problems, shown, prefix)
    except OSError as error:
        if problems is not None:
            reason = f"this folder cannot be listed: {error.strerror or error}"
            problems.append((shown or ".", ".".join(prefix), reason))
        return
    if folders is not None:
        recent = mtime > listed_at - RACY_NS
        folders.append((folder, mtime, _names(files, below) if recent else None))
    for name in files:
        stem = name[:-3]
        parts = prefix if stem == "__init__" else [*prefix, stem]
        if parts:
            found.append((f"{shown}{os.sep}{name}" if shown else name, ".".join(parts)))
    for name, path in below:
        _walk(path, f"{shown}{os.sep}{name}" if shown else name, [*prefix, name], excluded,
              found, folders, problems)  # fmt: skip


def _entries(
    folder: str,
    excluded: set[str],
    problems: list[Skipped] | None = None,
    shown: str = "",
    prefix: list[str] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """The importable ``.py`` files of ``folder`` and the folders to search below it."""
    files: list[str] = []
    below: list[tuple[str, str]] = []
    for entry in os.scandir(folder):
        name = entry.name
        if excluded and entry.path in excluded:
            continue
        if name.endswith(".py"):
            if name[:-3].isidentifier() and _is_file(entry, problems, shown, prefix):
                files.append(name)
        elif name.isidentifier() and name not in _SKIPPED_DIRS and _is_folder(entry):
            below.append((name, entry.path))
    return files, below


def _names(files: list[str], below: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(sorted([*files, *(f"{name}/" for name, _ in below)]))


def _is_file(
    entry: os.DirEntry[str], problems: list[Skipped] | None, shown: str, prefix: list[str] | None
) -> bool:
    """Whether ``entry`` is a file to read; a link that leads nowhere is a problem to report."""
    try:
        if entry.is_file():
            return True
        if not entry.is_symlink():
            return False  # a folder or a device named *.py: not a Python file
        os.stat(entry.path)
    except OSError as error:
        reason = error.strerror or str(error)
    else:
        return False  # a link to a folder
    if problems is not None:
        relative = f"{shown}{os.sep}{entry.name}" if shown else entry.name
        stem = entry.name[:-3]
        dotted = ".".join([*(prefix or []), *([] if stem == "__init__" else [stem])])
        problems.append((relative, dotted, f"this file cannot be opened: {reason}"))
    return False


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def stat_files(root: str, listed: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """(mtime_ns, size) of each listed file."""
    stats = []
    stat = os.stat
    base = root if root.endswith(os.sep) else root + os.sep
    for relative, _ in listed:
        found = stat(base + relative)
        stats.append((found.st_mtime_ns, found.st_size))
    return stats


RACY_NS = 2_000_000_000
"""A file changed this recently may change again within the same timestamp tick."""


def settled(mtimes: Iterable[int]) -> bool:
    """Whether every modification time is old enough to identify its file's content.

    File systems stamp times in ticks of a few milliseconds: a file written twice in one
    tick keeps its time (and maybe its size). Like git's "racily clean" entries, anything
    changed in the last two seconds is not trusted to a cache.
    """
    limit = time.time_ns() - RACY_NS
    return all(mtime < limit for mtime in mtimes)


LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""How the CLI logs (``dolmen.cli._loading.LOG_FORMAT``)."""
cli_logging = False
"""Set by the check command run without the CLI: configure logging as the CLI does, if used."""


def warn_discarded(path: object, error: Exception) -> None:
    """Say that a cache file that cannot be read is discarded (logging loads only then)."""
    import logging

    if cli_logging:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("dolmen.check").warning(
        "discarding %s, which cannot be read (%s)", path, error
    )


def make_cache_dir(path: str | os.PathLike[str]) -> None:
    """Make the cache folder, git-ignored, if it is missing."""
    os.makedirs(path, exist_ok=True)
    ignore = os.path.join(path, ".gitignore")
    if not os.path.exists(ignore):
        with open(ignore, "w") as file:
            file.write("*\n")
