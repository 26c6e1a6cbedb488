"""A per-file cache of extracted imports, so an unchanged tree re-checks without reading files.

Entries are keyed by path and validated by modification time and size: a file
whose ``stat`` matches is not opened again. When many files must be read (a cold
run), they are scanned in several processes.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dolmen.check._imports import RawImport, UnreadableFile, scan

VERSION = 4
PARALLEL_FROM = 400
"""Below this many files to read, one process is faster than starting a pool."""

Scanned = tuple[tuple[str, str, int, int, bool, bool], ...] | tuple[int, str]
"""A file's imports as plain tuples, or (line, reason) for a file that cannot be read."""
Entry = tuple[int, int, Scanned]
"""(mtime_ns, size, scanned)."""


def scan_path(path: str) -> Scanned:
    """Read and scan one file (also run in worker processes)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return tuple(tuple(i) for i in scan(file.read()))  # type: ignore[misc]
    except UnreadableFile as error:
        return (error.line, error.reason)


def _scan_many(paths: Sequence[str]) -> list[Scanned]:
    return [scan_path(p) for p in paths]


class ImportCache:
    """Loads, serves and saves the cache file (``<cache_dir>/check-imports.pickle``)."""

    def __init__(self, directory: Path | None) -> None:
        self.file = directory / "check-imports.pickle" if directory else None
        self.entries: dict[str, Entry] = {}
        self.hits = 0
        self.misses = 0
        self._dirty = False
        if self.file and self.file.is_file():
            try:
                version, entries = pickle.loads(self.file.read_bytes())
                if version == VERSION:
                    self.entries = entries
            except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
                self.entries = {}

    def load(self, files: Sequence[tuple[str, int, int]]) -> None:
        """Bring the entries of ``files`` (path, mtime_ns, size) up to date, in parallel if many."""
        stale = [
            (path, mtime, size)
            for path, mtime, size in files
            if (cached := self.entries.get(path)) is None or cached[:2] != (mtime, size)
        ]
        self.hits += len(files) - len(stale)
        self.misses += len(stale)
        if not stale:
            return
        self._dirty = True
        paths = [path for path, _, _ in stale]
        workers = min(os.cpu_count() or 1, 8)
        if len(paths) >= PARALLEL_FROM and workers > 1:
            size = max(len(paths) // (workers * 4), 50)
            chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
            with ProcessPoolExecutor(workers) as pool:
                results = [r for chunk in pool.map(_scan_many, chunks) for r in chunk]
        else:
            results = _scan_many(paths)
        for (path, mtime, size_), result in zip(stale, results, strict=True):
            self.entries[path] = (mtime, size_, result)

    def imports(self, path: str) -> tuple[RawImport, ...]:
        """The imports of a file given to :meth:`load`; raises UnreadableFile."""
        scanned = self.entries[path][2]
        if scanned and isinstance(scanned[0], int):
            line, reason = scanned
            raise UnreadableFile(int(line), str(reason))
        return tuple(RawImport._make(i) for i in scanned)

    def save(self, keep: set[str]) -> None:
        """Write the cache back, forgetting files that no longer exist."""
        if self.file is None:
            return
        stale = set(self.entries) - keep
        if not self._dirty and not stale:
            return
        for key in stale:
            del self.entries[key]
        write_atomically(self.file, pickle.dumps((VERSION, self.entries), protocol=5))


def write_atomically(file: Path, data: bytes) -> None:
    """Replace ``file`` with ``data`` in one step, in a git-ignored cache folder."""
    file.parent.mkdir(parents=True, exist_ok=True)
    ignore = file.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    temporary = file.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(file)
