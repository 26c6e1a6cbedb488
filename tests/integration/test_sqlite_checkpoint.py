"""SQLite's write-ahead log is checkpointed by a thread of Dolmen's, not by the commits."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from dolmen.persistence import _sqlite_checkpoint

from .notes_app import Notes, make_app


def in_main_file(path: Path) -> list[str]:
    """The notes in the database file itself, ignoring its log (what checkpoints wrote)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return [text for (text,) in connection.execute("SELECT text FROM notes__notes")]
    finally:
        connection.close()


async def test_a_commit_reaches_the_database_file_soon_after_without_checkpointing_itself(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    app = make_app(f"sqlite:///{path}")
    async with app.running():
        assert app.database is not None
        async with app.database.engine.connect() as connection:
            autocheckpoint = await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")
            assert autocheckpoint.scalar() == 0  # the commits leave it to the thread
        await asyncio.sleep(0.3)  # the tables' creation checkpointed
        async with app.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("kept")
        assert "kept" not in in_main_file(path)  # only in the log right after the commit
        for _ in range(100):  # 1 s at most; the thread checkpoints 0.1 s after a write
            if "kept" in in_main_file(path):
                break
            await asyncio.sleep(0.01)
        assert in_main_file(path) == ["kept"]


async def test_the_log_stays_bounded_while_writers_never_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_checkpoint, "LOG_LIMIT_FRAMES", 200)  # 800 KB of 4 KiB pages
    path = tmp_path / "app.db"
    app = make_app(f"sqlite:///{path}")
    wal = Path(f"{path}-wal")
    largest = 0
    async with app.running():
        for number in range(1500):  # about 6 MB of pages written, one transaction each
            async with app.unit_of_work("notes") as work:
                await (await work.get(Notes)).add(f"{number:04d}" + "x" * 2000)
            largest = max(largest, wal.stat().st_size)  # noqa: ASYNC240  # a stat, in a test
        async with app.unit_of_work("notes", write=False) as work:
            assert await (await work.get(Notes)).count() == 1500
    assert largest < 4_000_000, f"the log grew to {largest} bytes"
