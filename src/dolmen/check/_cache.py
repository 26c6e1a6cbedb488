"""A per-file cache of extracted imports, so an unchanged tree re-checks without reading files.

Entries are keyed by path and validated by modification time and size: a file
whose ``stat`` matches is not opened again. When many files must be read (a cold
run), they are scanned in several processes.
"""

from __future__ import annotations

import functools
import marshal
import os
import sys
import time
import warnings
import zlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from dolmen.check._files import CACHE_VERSION, RACY_NS, make_cache_dir, warn_discarded
from dolmen.check._imports import Plain, UnreadableFile, scan_bytes_plain
from dolmen.check._syntax import Suppression, SyntaxVerdict, suppressions_in, syntax_error

if TYPE_CHECKING:
    from pathlib import Path  # paths come from the callers: a run after an edit needs none

IMPORTS_FILE = "check-imports.marshal"
PARALLEL_FROM = 400
"""Below this many files to read, one process is faster than starting a pool."""

Scanned = tuple[tuple[str, str, int, int, bool, bool], ...] | tuple[int, str]
"""A file's imports as plain tuples, or (line, reason) for a file that cannot be read."""
FileScan = tuple[Scanned, SyntaxVerdict, tuple[Suppression, ...]]
"""What is kept of one file: its imports, its syntax verdict and its suppression comments."""
Entry = tuple[int, int, Scanned, SyntaxVerdict, tuple[Suppression, ...]]
"""(mtime_ns, size, scanned, syntax, suppressions)."""
Found = tuple[tuple[Plain, ...] | UnreadableFile, SyntaxVerdict, tuple[Suppression, ...]]
"""One file as the rules take it: its imports (or why it cannot be read), syntax, suppressions."""


def scan_path(path: str, judge_syntax: bool = True) -> FileScan:
    """Read and scan one file (also run in worker processes); the caller silences warnings."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        return (1, f"this file cannot be read: {error.strerror or error}"), None, ()
    return scan_data(data, path, judge_syntax)


def scan_data(data: bytes, path: str, judge_syntax: bool = True) -> FileScan:
    """Scan one file's bytes: its imports, its syntax (when judged) and its suppressions."""
    try:  # decoded as Python does: BOM, encoding declaration
        scanned = tuple(scan_bytes_plain(data))
    except UnreadableFile as error:
        return (error.line, error.reason), None, ()
    syntax = syntax_error(data, path) if judge_syntax else None
    suppressions = suppressions_in(data) if b"dolmen:" in data else ()
    return scanned, syntax, suppressions


def scan_quietly(data: bytes, path: str, judge_syntax: bool) -> FileScan:
    """:func:`scan_data` with warnings silenced (they are the file's business)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scan_data(data, path, judge_syntax)


def _scan_many(paths: Sequence[str], judge_syntax: bool) -> bytes:
    """Scan ``paths`` in a worker; marshal's bytes cross the process boundary faster than pickle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return marshal.dumps([scan_path(p, judge_syntax) for p in paths])


def _stat_and_scan_many(paths: Sequence[str], judge_syntax: bool) -> bytes:
    """:func:`_scan_many`, each file's (mtime_ns, size) taken before it is read, first."""
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in paths:
            try:
                stat = os.stat(path)
                times = (stat.st_mtime_ns, stat.st_size)
            except OSError:
                times = (-1, -1)
            found.append((times, scan_path(path, judge_syntax)))
    return marshal.dumps(found)


class Prefetch:
    """Files whose scan started in child processes as soon as they were listed (a cold run).

    The rules' other preparations (stats, modules) then overlap the scan. Each file comes
    with the (mtime_ns, size) its child saw before reading it: a file whose stat then
    differs changed meanwhile, and its entry is not kept.
    """

    def __init__(self, paths: list[str], judge_syntax: bool) -> None:
        from dolmen.check._workers import Scanning

        self.paths = paths
        self.judge_syntax = judge_syntax
        workers = min(os.cpu_count() or 1, 8)
        chunks = _chunks(paths, workers)
        scan = functools.partial(_stat_and_scan_many, judge_syntax=judge_syntax)
        self.scanning = Scanning(chunks, workers, scan)

    def results(self) -> Iterator[tuple[tuple[int, int], FileScan]]:
        """Each file's (mtime_ns, size) and scan, in order."""
        for chunk in self.scanning.results():
            yield from chunk

    def close(self) -> None:
        """Stop and wait for the children (what they did not send is not needed)."""
        self.scanning.close()

    @staticmethod
    def worth(count: int) -> bool:
        """Whether ``count`` files are scanned faster by forked children."""
        from dolmen.check._workers import FORK

        threading = sys.modules.get("threading")
        single = threading is None or threading.active_count() == 1
        return FORK and single and count >= PARALLEL_FROM and min(os.cpu_count() or 1, 8) >= 2


def _chunks(paths: list[str], workers: int) -> list[list[str]]:
    size = min(max(len(paths) // (workers * 8), 50), 250)
    return [paths[i : i + size] for i in range(0, len(paths), size)]


SHARDS = 16
"""The import cache is kept in this many parts, each read only when one of its files is asked
about: a run after an edit reads a sixteenth of it (Home Assistant's is 6 MB)."""


def shard_of(path: str) -> int:
    """Which part of the import cache holds ``path`` (stable across processes)."""
    return zlib.crc32(path.encode("utf-8", "surrogateescape")) % SHARDS


class ImportEntries:
    """The import cache's entries by path, each part decoded when first needed.

    The file is marshal data of ``(CACHE_VERSION, {part: marshal data of {path: Entry}})``.
    """

    def __init__(self, parts: dict[int, bytes], file: object = None) -> None:
        self.parts = parts
        self.file = file
        self.decoded: dict[int, dict[str, Entry]] = {}
        self.changed: set[int] = set()
        self.scanned_now: dict[str, tuple[int, int, bool, FileScan]] = {}
        """Files this run has read and scanned already: (mtime_ns, size, syntax judged, scan)."""

    @classmethod
    def read(cls, file: Path | str) -> ImportEntries:
        """The entries of ``file``; none if it is missing or of another version.

        Raises EOFError, ValueError or TypeError for a file that cannot be read.
        """
        try:
            with open(file, "rb") as opened:
                data = opened.read()
        except OSError:
            return cls({}, file)
        version, parts = marshal.loads(data)
        if version != CACHE_VERSION:
            return cls({}, file)
        if not isinstance(parts, dict):
            raise TypeError("the import cache holds no parts")
        return cls(parts, file)

    def part(self, index: int) -> dict[str, Entry]:
        """The entries of part ``index`` (a part that cannot be read is discarded)."""
        found = self.decoded.get(index)
        if found is None:
            blob = self.parts.get(index)
            found = {}
            if blob is not None:
                try:
                    found = marshal.loads(blob)
                    if not isinstance(found, dict):
                        raise TypeError("a part of the import cache is no table")
                except (EOFError, ValueError, TypeError) as error:
                    warn_discarded(self.file, error)
                    found = {}
                    self.changed.add(index)
            self.decoded[index] = found
        return found

    def get(self, path: str) -> Entry | None:
        """The entry of ``path``, if any."""
        return self.part(shard_of(path)).get(path)

    def put(self, path: str, entry: Entry) -> None:
        """Keep ``entry`` for ``path``."""
        index = shard_of(path)
        self.part(index)[path] = entry
        self.changed.add(index)

    def dumps(self, keep: set[str]) -> bytes | None:
        """The file's new content, forgetting files not in ``keep``; None if nothing changed.

        Only the parts read are looked at: an entry of a file removed since stays in a part
        not read this time, until a run reads it.
        """
        for index, entries in self.decoded.items():
            gone = [path for path in entries if path not in keep]
            for path in gone:
                del entries[path]
            if gone:
                self.changed.add(index)
        if not self.changed:
            return None
        parts = dict(self.parts)
        for index in self.changed:
            if index in self.decoded:  # else: the file could not be read, and is written anew
                parts[index] = marshal.dumps(self.decoded[index])
        return marshal.dumps((CACHE_VERSION, parts))


class ImportCache:
    """Loads, serves and saves the cache file (``<cache_dir>/check-imports.marshal``)."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None,
        *,
        judge_syntax: bool = True,
        entries: ImportEntries | None = None,
        prefetch: Prefetch | None = None,
    ) -> None:
        """The cache of ``directory`` (None: none); ``entries``, its content when already read.

        ``prefetch``: the files' scan, already started (used when they are the ones to scan).
        """
        self.judge_syntax = judge_syntax
        self.prefetch = prefetch if prefetch and prefetch.judge_syntax == judge_syntax else None
        self.file = os.path.join(directory, IMPORTS_FILE) if directory else None
        self.entries = ImportEntries({}, self.file)
        self.hits = 0
        self.misses = 0
        if entries is not None and self.file is not None:
            self.entries = entries
        elif self.file is not None:
            try:
                self.entries = ImportEntries.read(self.file)
            except (EOFError, ValueError, TypeError) as error:
                warn_discarded(self.file, error)
                self.entries = ImportEntries({}, self.file)
                self.entries.changed.add(-1)  # write it again

    def _fresh(self, path: str, mtime: int, size: int) -> Entry | None:
        """The cached entry of ``path`` if it still describes the file, else None."""
        cached = self.entries.get(path)
        if cached is None or cached[0] != mtime or cached[1] != size:
            return None
        if self.judge_syntax and cached[3] is None and not _unreadable(cached[2]):
            return None  # read without judging its syntax, which is wanted now
        return cached

    def scanned(self, files: Sequence[tuple[str, int, int]]) -> Iterator[Found]:
        """Each of ``files`` (path, mtime_ns, size), in order, as it is read.

        Unchanged files come from the cache; the others are scanned, in several processes
        when there are many, and yielded as soon as their chunk is done, so the caller's
        work overlaps the scanning.
        """
        fresh_entry = self._fresh
        stale = [path for path, mtime, size in files if fresh_entry(path, mtime, size) is None]
        self.hits += len(files) - len(stale)
        self.misses += len(stale)
        ready = self._scanned_now(files) if stale and self.entries.scanned_now else {}
        if ready:
            stale = [path for path in stale if path not in ready]
        fresh: Iterator[tuple[tuple[int, int] | None, FileScan]]
        if self.prefetch is not None and self.prefetch.paths == stale:
            fresh = iter(self.prefetch.results())
        else:
            fresh = ((None, found) for found in self._scan(stale))
        limit = time.time_ns() - RACY_NS
        for path, mtime, size in files:
            cached = fresh_entry(path, mtime, size) if stale or ready else self.entries.get(path)
            if cached is None:
                seen, (scanned, syntax, suppressions) = ready.get(path) or next(fresh)
                cached = (mtime, size, scanned, syntax, suppressions)
                # A file changed just now is not kept (see settled()): it is read again next
                # time, and its entry still says what an answer computed before it saw.
                if mtime < limit and (seen is None or tuple(seen) == (mtime, size)):
                    self.entries.put(path, cached)
            yield _as_imports(cached[2]), cached[3], cached[4]

    def _scanned_now(
        self, files: Sequence[tuple[str, int, int]]
    ) -> dict[str, tuple[tuple[int, int] | None, FileScan]]:
        """The files of ``files`` this run has scanned already, as they are now."""
        earlier = self.entries.scanned_now
        ready: dict[str, tuple[tuple[int, int] | None, FileScan]] = {}
        for path, mtime, size in files:
            found = earlier.get(path)
            if found is not None and found[:3] == (mtime, size, self.judge_syntax):
                ready[path] = (None, found[3])
        return ready

    def _scan(self, paths: list[str]) -> Iterator[FileScan]:
        workers = min(os.cpu_count() or 1, 8)
        if len(paths) < PARALLEL_FROM or workers < 2:
            for path in paths:  # warnings silenced per file: the caller runs between them
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scanned = scan_path(path, self.judge_syntax)
                yield scanned
            return
        from dolmen.check._workers import scan_in_children

        chunks = _chunks(paths, workers)
        scan = functools.partial(_scan_many, judge_syntax=self.judge_syntax)
        for chunk in scan_in_children(chunks, workers, scan):
            yield from chunk

    def save(self, keep: set[str]) -> None:
        """Write the cache back, forgetting files that no longer exist."""
        if self.file is None:
            return
        data = self.entries.dumps(keep)
        if data is not None:
            write_atomically(self.file, data)


def _unreadable(scanned: Scanned) -> bool:
    return bool(scanned) and isinstance(scanned[0], int)


def _as_imports(scanned: Scanned) -> tuple[Plain, ...] | UnreadableFile:
    if scanned and isinstance(scanned[0], int):
        line, reason = scanned
        return UnreadableFile(int(line), str(reason))
    return scanned  # plain tuples: the rules index them


def write_atomically(file: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``file`` with ``data`` in one step, in a git-ignored cache folder."""
    path = os.fspath(file)
    make_cache_dir(os.path.dirname(path))
    temporary = f"{os.path.splitext(path)[0]}.tmp"
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
