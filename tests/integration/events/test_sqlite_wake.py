"""Processes on one SQLite file wake each other's dispatchers (the NOTIFY SQLite lacks)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from dolmen import App
from dolmen.events._sqlite_wake import WakeSockets

from ..notes_app import Audit, Notes, make_app


async def test_a_commit_in_one_process_wakes_the_dispatcher_of_another(tmp_path: Path) -> None:
    database = str(tmp_path / "app.db")
    listening, sending, other = (WakeSockets(database) for _ in range(3))
    woken, other_woken = asyncio.Event(), asyncio.Event()
    try:
        assert listening.listen(woken.set)
        sending.notify()
        await asyncio.wait_for(woken.wait(), 30)
        woken.clear()
        assert other.listen(other_woken.set)
        listening.notify()  # a process does not wake itself through the sockets
        # It sent to both sockets before returning, so the loop's turn that woke the other
        # would have woken it too.
        await asyncio.wait_for(other_woken.wait(), 30)
        assert not woken.is_set()
    finally:
        for sockets in (listening, sending, other):
            sockets.close()
    assert os.listdir(tmp_path / "app.db-wake") == []


async def test_the_marker_of_a_dead_listener_is_removed_by_the_next_sender(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "app.db")
    (tmp_path / "app.db-wake").mkdir()
    (tmp_path / "app.db-wake" / "999999-gone").touch()  # a process killed with -9
    sending = WakeSockets(database)
    sending.notify()
    sending.close()
    assert os.listdir(tmp_path / "app.db-wake") == []


async def test_an_event_published_by_another_app_is_handled_without_waiting_for_a_poll(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    # Without a wake-up, the worker would look at the outbox a minute after its last look.
    slow_polls = {"poll_min_seconds": 60.0, "poll_max_seconds": 60.0, "lease_seconds": 300.0}
    worker = make_app(url, events=slow_polls)
    publisher = make_app(url, events={"dispatch": False})
    async with worker.running(), publisher.running():
        # The first note may come before the worker's first look; the second cannot.
        for handled in (1, 2):
            async with publisher.unit_of_work("notes") as work:
                await (await work.get(Notes)).add(f"hello {handled}")
            for _ in range(3000):  # 30 s at most
                if await audit_count(worker) == handled:
                    break
                await asyncio.sleep(0.01)
            assert await audit_count(worker) == handled, "the worker was not woken"


async def audit_count(app: App) -> int:
    async with app.unit_of_work("audit", write=False) as work:
        audit: Audit = await work.get(Audit)
        return await audit.count()
