"""Files scanned in child processes come back complete and in order, even if a child dies."""

from __future__ import annotations

import marshal
import os
from collections.abc import Sequence

import pytest

from dolmen.check import _workers
from dolmen.check._workers import scan_in_children

PARENT = os.getpid()


def lengths(chunk: Sequence[str]) -> bytes:
    return marshal.dumps([(name, len(name)) for name in chunk])


def dies_in_a_child(chunk: Sequence[str]) -> bytes:
    if os.getpid() != PARENT and "c" in chunk:
        raise RuntimeError("a child fails on this chunk")
    return lengths(chunk)


CHUNKS = [["a", "bb"], ["c"], ["dd", "eee"], ["f"], ["gggg"]]
EXPECTED = [[[n, len(n)] for n in chunk] for chunk in CHUNKS]


def as_lists(results: list[object]) -> list[list[list[object]]]:
    return [[list(item) for item in chunk] for chunk in results]  # type: ignore[attr-defined]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_chunk_comes_back_in_order(workers: int) -> None:
    assert as_lists(list(scan_in_children(CHUNKS, workers, lengths))) == EXPECTED


def test_the_chunks_of_a_child_that_died_are_scanned_by_the_parent() -> None:
    assert as_lists(list(scan_in_children(CHUNKS, 2, dies_in_a_child))) == EXPECTED


def test_without_fork_a_process_pool_does_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_workers, "FORK", False)
    assert as_lists(list(scan_in_children(CHUNKS, 2, lengths))) == EXPECTED


def test_with_other_threads_running_a_process_pool_does_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    used: list[str] = []
    real = _workers._in_pool

    def pool(*args: object) -> object:
        used.append("pool")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(_workers, "_in_pool", pool)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert as_lists(list(scan_in_children(CHUNKS, 2, lengths))) == EXPECTED
    finally:
        stop.set()
        other.join()
    assert used == ["pool"]
