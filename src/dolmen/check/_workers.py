"""Scan many files in child processes, forked, their results read back in order.

A cold check scans every file: the work is split into chunks dealt out in turn to one
child process per core, each forked from the check (nothing to import, nothing to send but
paths) and writing each chunk's results to its pipe as marshal data. The parent reads the
chunks in order, so the rules run on the first files while the children scan the others.
``multiprocessing`` would cost more to import than Django's whole scan takes on one core;
where ``os.fork`` does not exist (Windows), or when the check runs in a process with other
threads, a process pool does the same.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Chunk = Sequence[str]
ScanMany = Callable[[Chunk], bytes]
"""Scan a chunk of paths, in a child: their results, as marshal data of a list."""
_LENGTH = struct.Struct("<Q")
FORK = hasattr(os, "fork")
"""Whether children can be forked (not on Windows): else a process pool is used."""


def scan_in_children(chunks: Sequence[Chunk], workers: int, scan_many: ScanMany) -> Iterator[Any]:
    """The results of every chunk, in order (a list per chunk), scanned by ``workers`` children."""
    threading = sys.modules.get("threading")
    if not FORK or (threading is not None and threading.active_count() > 1):
        # A fork copies one thread: a lock another thread holds (an import's) stays held.
        yield from _in_pool(chunks, workers, scan_many)
        return
    scanning = Scanning(chunks, workers, scan_many)
    try:
        yield from scanning.results()
    finally:
        scanning.close()


class Scanning:
    """Children forked at once, scanning ``chunks`` while the caller does other work."""

    def __init__(self, chunks: Sequence[Chunk], workers: int, scan_many: ScanMany) -> None:
        self.chunks = chunks
        self.scan_many = scan_many
        self.children: list[int] = []
        self.files: list[Any] = []  # the read end of each child's pipe
        try:
            for index in range(workers):
                read, write = os.pipe()
                pid = os.fork()
                if pid == 0:  # the child: scan chunks index, index + workers, ...; never return
                    os.close(read)
                    _child(chunks[index::workers], write, scan_many)
                os.close(write)
                self.children.append(pid)
                self.files.append(os.fdopen(read, "rb"))
        except BaseException:
            self.close()
            raise

    def results(self) -> Iterator[Any]:
        """The results of every chunk, in order; a chunk a child did not send is scanned here."""
        files, workers = self.files, len(self.files)
        for index, chunk in enumerate(self.chunks):
            data = _read_chunk(files[index % workers]) if workers else None
            # A child that died leaves its chunks to be scanned here.
            yield marshal.loads(data) if data is not None else marshal.loads(self.scan_many(chunk))

    def close(self) -> None:
        """Close the pipes (a child still writing then stops) and wait for every child."""
        for file in self.files:
            file.close()
        for pid in self.children:
            os.waitpid(pid, 0)
        self.files, self.children = [], []


def _child(chunks: Sequence[Chunk], write: int, scan_many: ScanMany) -> None:
    code = 0
    try:
        with os.fdopen(write, "wb") as out:
            for chunk in chunks:
                data = scan_many(chunk)
                out.write(_LENGTH.pack(len(data)))
                out.write(data)
                out.flush()
    except BaseException:  # the parent scans what is missing
        code = 1
    finally:
        os._exit(code)  # no clean-up of the parent's state (buffers, atexit) in the child


def _read_chunk(file: Any) -> bytes | None:
    head = file.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data: bytes = file.read(length)
    return data if len(data) == length else None


def _in_pool(chunks: Sequence[Chunk], workers: int, scan_many: ScanMany) -> Iterator[Any]:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        for data in pool.map(scan_many, chunks):
            yield marshal.loads(data)
