"""A per-file cache of extracted imports, so an unchanged tree re-checks without reading files.

Entries are keyed by path and validated by modification time and size: a file
whose ``stat`` matches is not opened again. When many files must be read (a cold
run), they are scanned in several processes.
"""

from __future__ import annotations

import logging
import marshal
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from dolmen.check._files import CACHE_VERSION, make_cache_dir, settled
from dolmen.check._imports import RawImport, UnreadableFile, scan_bytes

logger = logging.getLogger("dolmen.check")

PARALLEL_FROM = 400
"""Below this many files to read, one process is faster than starting a pool."""

Scanned = tuple[tuple[str, str, int, int, bool, bool], ...] | tuple[int, str]
"""A file's imports as plain tuples, or (line, reason) for a file that cannot be read."""
Entry = tuple[int, int, Scanned]
"""(mtime_ns, size, scanned)."""


def scan_path(path: str) -> Scanned:
    """Read and scan one file (also run in worker processes)."""
    try:
        with open(path, "rb") as file:  # decoded as Python does: BOM, encoding declaration
            return tuple(tuple(i) for i in scan_bytes(file.read()))  # type: ignore[misc]
    except UnreadableFile as error:
        return (error.line, error.reason)


def _scan_many(paths: Sequence[str]) -> bytes:
    """Scan ``paths`` in a worker; marshal's bytes cross the process boundary faster than pickle."""
    return marshal.dumps([scan_path(p) for p in paths])


class ImportCache:
    """Loads, serves and saves the cache file (``<cache_dir>/check-imports.marshal``)."""

    def __init__(self, directory: Path | None) -> None:
        self.file = directory / "check-imports.marshal" if directory else None
        self.entries: dict[str, Entry] = {}
        self.hits = 0
        self.misses = 0
        self._dirty = False
        if self.file and self.file.is_file():
            try:
                version, entries = marshal.loads(self.file.read_bytes())
                if version == CACHE_VERSION:
                    self.entries = entries
            except (EOFError, ValueError, TypeError) as error:
                logger.warning("discarding %s, which cannot be read (%s)", self.file, error)
                self.entries = {}

    def scanned(
        self, files: Sequence[tuple[str, int, int]]
    ) -> Iterator[tuple[RawImport, ...] | UnreadableFile]:
        """The imports of each of ``files`` (path, mtime_ns, size), in order, as they are read.

        Unchanged files come from the cache; the others are scanned, in several processes
        when there are many, and yielded as soon as their chunk is done, so the caller's
        work overlaps the scanning.
        """
        stale = [
            path
            for path, mtime, size in files
            if (cached := self.entries.get(path)) is None or cached[:2] != (mtime, size)
        ]
        self.hits += len(files) - len(stale)
        self.misses += len(stale)
        self._dirty = self._dirty or bool(stale)
        fresh = iter(self._scan(stale))
        for path, mtime, size in files:
            cached = self.entries.get(path)
            if cached is None or cached[:2] != (mtime, size):
                scanned = next(fresh)
                # A file changed just now is read again next time (see settled()).
                kept = mtime if settled((mtime,)) else -1
                cached = self.entries[path] = (kept, size, scanned)
            yield _as_imports(cached[2])

    @staticmethod
    def _scan(paths: list[str]) -> Iterator[Scanned]:
        workers = min(os.cpu_count() or 1, 8)
        if len(paths) < PARALLEL_FROM or workers < 2:
            yield from (scan_path(p) for p in paths)
            return
        from concurrent.futures import ProcessPoolExecutor  # costs 10 ms: only when used

        size = min(max(len(paths) // (workers * 8), 50), 250)
        chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
        with ProcessPoolExecutor(workers) as pool:
            for chunk in pool.map(_scan_many, chunks):
                yield from marshal.loads(chunk)

    def save(self, keep: set[str]) -> None:
        """Write the cache back, forgetting files that no longer exist."""
        if self.file is None:
            return
        stale = set(self.entries) - keep
        if not self._dirty and not stale:
            return
        for key in stale:
            del self.entries[key]
        write_atomically(self.file, marshal.dumps((CACHE_VERSION, self.entries)))


def _as_imports(scanned: Scanned) -> tuple[RawImport, ...] | UnreadableFile:
    if scanned and isinstance(scanned[0], int):
        line, reason = scanned
        return UnreadableFile(int(line), str(reason))
    new = tuple.__new__
    return tuple(new(RawImport, i) for i in scanned)


def write_atomically(file: Path, data: bytes) -> None:
    """Replace ``file`` with ``data`` in one step, in a git-ignored cache folder."""
    make_cache_dir(file.parent)
    temporary = file.with_suffix(".tmp")
    temporary.write_bytes(data)
    temporary.replace(file)
