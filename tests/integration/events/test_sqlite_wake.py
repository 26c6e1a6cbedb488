"""Processes on one SQLite file wake each other's dispatchers (the NOTIFY SQLite lacks)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from dolmen import App
from dolmen.events._sqlite_wake import WakeSockets

from ..notes_app import Audit, Notes, make_app


async def test_a_commit_in_one_process_wakes_the_dispatcher_of_another(tmp_path: Path) -> None:
    database = str(tmp_path / "app.db")
    listening, sending = WakeSockets(database), WakeSockets(database)
    woken = asyncio.Event()
    try:
        assert listening.listen(woken.set)
        sending.notify()
        await asyncio.wait_for(woken.wait(), 2)
        woken.clear()
        listening.notify()  # a process does not wake itself through the sockets
        await asyncio.sleep(0.05)
        assert not woken.is_set()
    finally:
        listening.close()
        sending.close()
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
    slow_polls = {"poll_min_seconds": 5.0, "poll_max_seconds": 5.0}
    worker = make_app(url, events=slow_polls)
    publisher = make_app(url, events={"dispatch": False})
    async with worker.running(), publisher.running():
        await asyncio.sleep(0.1)  # the worker's first look at the empty outbox
        started = time.monotonic()
        async with publisher.unit_of_work("notes") as work:
            await (await work.get(Notes)).add("hello")
        while not await audit_count(worker):
            assert time.monotonic() - started < 2.5, "the worker was not woken"
            await asyncio.sleep(0.01)


async def audit_count(app: App) -> int:
    async with app.unit_of_work("audit", write=False) as work:
        return await (await work.get(Audit)).count()
