"""Files scanned in child processes come back complete and in order, even if a child dies."""

from __future__ import annotations

import marshal
import os
from collections.abc import Sequence
from pathlib import Path

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


def test_a_scanning_left_unread_stops_and_is_waited_for() -> None:
    scanning = _workers.Scanning([[str(n)] * 50 for n in range(200)], 2, lengths)
    children = list(scanning.children)
    scanning.close()  # the children stop at their next write, into a closed pipe
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already waited for: no zombie left


def test_a_cold_check_scans_its_files_as_soon_as_they_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dolmen.check import _cache
    from dolmen.check._runner import run_check

    root = many_files(tmp_path)
    monkeypatch.setattr(_cache, "PARALLEL_FROM", 10)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    started: list[int] = []
    real = _cache.Prefetch.__init__

    def spy(self: _cache.Prefetch, paths: list[str], judge_syntax: bool) -> None:
        started.append(len(paths))
        real(self, paths, judge_syntax)

    monkeypatch.setattr(_cache.Prefetch, "__init__", spy)
    cold = run_check(root)
    assert started == [cold.files]
    assert (root / ".dolmen_cache" / "check-imports.marshal").is_file()
    warm = run_check(root)  # from the caches: nothing scanned before the stats
    assert started == [cold.files]
    serial = run_check(root, use_cache=False)  # no cache: scanned at once too
    expected = sorted((v.rule, v.path, v.line, v.message) for v in cold.violations)
    for report in (warm, serial):
        assert sorted((v.rule, v.path, v.line, v.message) for v in report.violations) == expected
    assert len(expected) == 40  # private-import and undeclared-dependency in each file


def many_files(root: Path) -> Path:
    (root / "pyproject.toml").write_text(
        '[tool.dolmen.check]\nroots = ["src"]\n\n[[tool.dolmen.check.modules]]\n'
        'name = "orders"\npackage = "acme.orders"\n\n[[tool.dolmen.check.modules]]\n'
        'name = "billing"\npackage = "acme.billing"\n'
    )
    for package in ("acme", "acme/orders", "acme/billing"):
        (root / "src" / package).mkdir(parents=True)
        (root / "src" / package / "__init__.py").write_text("")
    for n in range(20):
        (root / f"src/acme/orders/part{n}.py").write_text(
            f'"""Part {n}."""\nimport os\nfrom acme.billing import _secret{n}\n'
        )
    old = 10**18  # settled: cached
    for path in root.rglob("*.py"):
        os.utime(path, ns=(old, old))
    return root
