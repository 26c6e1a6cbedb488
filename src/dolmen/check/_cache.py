"""A per-file cache of extracted imports, so an unchanged tree re-checks without reading files.

Entries are keyed by path and validated by modification time and size: a file
whose ``stat`` matches is not opened again.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from dolmen.check._imports import RawImport, UnreadableFile, scan

VERSION = 3
Entry = tuple[int, int, tuple[RawImport, ...] | tuple[int, str]]
"""(mtime_ns, size, imports), or (mtime_ns, size, (line, reason)) for an unreadable file."""


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

    def imports(self, path: Path) -> tuple[RawImport, ...]:
        """The file's imports, from the cache when its mtime and size are unchanged."""
        key = str(path)
        stat = os.stat(path)
        cached = self.entries.get(key)
        if cached is not None and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            self.hits += 1
            result = cached[2]
        else:
            self.misses += 1
            try:
                result = tuple(scan(path.read_text(encoding="utf-8", errors="replace")))
            except UnreadableFile as error:
                result = (error.line, error.reason)
            self.entries[key] = (stat.st_mtime_ns, stat.st_size, result)
            self._dirty = True
        if result and isinstance(result[0], int):
            line, reason = result
            raise UnreadableFile(int(line), str(reason))
        return result

    def save(self, keep: set[str]) -> None:
        """Write the cache back, forgetting files that no longer exist."""
        if self.file is None:
            return
        stale = set(self.entries) - keep
        if not self._dirty and not stale:
            return
        for key in stale:
            del self.entries[key]
        self.file.parent.mkdir(parents=True, exist_ok=True)
        (self.file.parent / ".gitignore").write_text("*\n")
        temporary = self.file.with_suffix(".tmp")
        temporary.write_bytes(pickle.dumps((VERSION, self.entries), protocol=5))
        temporary.replace(self.file)
