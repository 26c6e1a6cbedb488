"""List the Python files of a codebase, fast: the first step of every check.

Kept free of heavy imports: a warm ``dolmen check`` runs this before anything else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence

DEFAULT_ROOTS = (".",)
DEFAULT_BASELINE = "dolmen-baseline.json"
DEFAULT_CACHE_DIR = ".dolmen_cache"

_SKIPPED_DIRS = {"__pycache__", "node_modules", "venv", "site-packages"}
"""Folders never searched (hidden ones and those that are not identifiers neither)."""


def python_files(
    root: str,
    roots: Sequence[str],
    exclude: Sequence[str],
    folders: list[tuple[str, int]] | None = None,
) -> list[tuple[str, str]]:
    """Every ``.py`` file under the source roots (path relative to ``root``, dotted name).

    Files whose names are not identifiers (``0001_initial.py``) cannot be imported
    by name and are left out, as are hidden and virtual-environment folders. When
    ``folders`` is given, every folder listed is added to it with its modification time,
    taken before it was listed: while no folder's time changes, no file came or went.
    """
    top = os.path.normpath(root)
    excluded = {os.path.normpath(os.path.join(top, e)) for e in exclude}
    found: list[tuple[str, str]] = []
    for source_root in roots:
        base = os.path.normpath(os.path.join(top, source_root))
        shown = base[len(top) + 1 :] if base != top else ""
        _walk(base, shown, [], excluded, found, folders)
    found.sort()
    return found


def _walk(
    folder: str,
    shown: str,
    prefix: list[str],
    excluded: set[str],
    found: list[tuple[str, str]],
    folders: list[tuple[str, int]] | None,
) -> None:
    """Add the importable ``.py`` files under ``folder`` (``os.scandir``: no ``stat`` per entry)."""
    try:
        if folders is not None:
            folders.append((folder, os.stat(folder).st_mtime_ns))
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if excluded and entry.path in excluded:
            continue
        if name.endswith(".py"):
            stem = name[:-3]
            if stem.isidentifier() and entry.is_file():
                parts = prefix if stem == "__init__" else [*prefix, stem]
                if parts:
                    found.append((f"{shown}{os.sep}{name}" if shown else name, ".".join(parts)))
        elif name.isidentifier() and name not in _SKIPPED_DIRS and _is_folder(entry):
            below = f"{shown}{os.sep}{name}" if shown else name
            _walk(entry.path, below, [*prefix, name], excluded, found, folders)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def stat_files(root: str, listed: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """(mtime_ns, size) of each listed file."""
    stats = []
    for relative, _ in listed:
        stat = os.stat(os.path.join(root, relative))
        stats.append((stat.st_mtime_ns, stat.st_size))
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
