"""procrastinate's side of bench/events.py, set up as procrastinate's documentation shows.

One module-level ``App`` on a ``PsycopgConnector`` (its documented production connector) with
two tasks on the ``bench`` queue: ``bench_noop`` records the latency; ``bench_insert``
inserts one row into ``received`` from a connection of a psycopg pool of its own (the
application's pool: ``pool.connection()`` commits when the block ends, so the row is its own
transaction), then records the latency. Schema: ``procrastinate schema --apply``. Worker:
``procrastinate --app=procrastinate_peer.app worker --queues bench --concurrency N``, one
process; it takes jobs one ``fetch`` at a time and marks each finished (``succeeded``) in a
statement of its own, which the benchmark waits for: a job counts as delivered once no job is
``todo`` or ``doing``. Publisher: ``batch_defer_async`` (one statement, one transaction) for
a group of events, ``defer_async`` for a single one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib import metadata
from typing import Any

import procrastinate
from _common import DATABASE_ENV, RECEIVED_TABLE, Latencies
from psycopg_pool import AsyncConnectionPool

URL = os.environ.get(DATABASE_ENV, "")
app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=URL))
latencies = Latencies()
_pool: AsyncConnectionPool | None = None


async def _app_pool() -> AsyncConnectionPool:
    global _pool
    if _pool is None:
        _pool = AsyncConnectionPool(URL, open=False)
        await _pool.open()
    return _pool


@app.task(name="bench_noop", queue="bench")
async def bench_noop(number: int, sent_at: float) -> None:
    latencies.record(number, sent_at)


@app.task(name="bench_insert", queue="bench")
async def bench_insert(number: int, sent_at: float) -> None:
    latency = latencies.record(number, sent_at)
    async with (await _app_pool()).connection() as db:
        await db.execute(
            "INSERT INTO received (number, latency) VALUES (%s, %s)", (number, latency)
        )


TASKS = {"noop": bench_noop, "insert": bench_insert}


class Peer:
    """The publisher's side: schema, worker command, deferring, what is left to deliver."""

    name = "procrastinate"

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self.url = url
        self.concurrency = int(options.get("concurrency", 64))
        here = os.path.dirname(os.path.abspath(__file__))
        self.env = dict(os.environ, PYTHONPATH=here, **{DATABASE_ENV: url})

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "procrastinate", "--app=procrastinate_peer.app", *args]

    def install(self) -> None:
        subprocess.run(self.command("schema", "--apply"), check=True, capture_output=True,
                       timeout=120, env=self.env)  # fmt: skip

    def worker_command(self) -> list[str]:
        return self.command("worker", "--queues", "bench", "--concurrency", str(self.concurrency))

    async def open(self) -> None:
        self.opened = app.open_async()
        await self.opened.__aenter__()
        await app.connector.execute_query_async(RECEIVED_TABLE)

    async def close(self) -> None:
        await self.opened.__aexit__(None, None, None)

    async def publish(self, handler: str, numbers: list[int]) -> None:
        task = TASKS[handler]
        if len(numbers) == 1:
            await task.defer_async(number=numbers[0], sent_at=time.time())
            return
        sent_at = time.time()
        await task.batch_defer_async(*({"number": n, "sent_at": sent_at} for n in numbers))

    async def pending(self) -> int:
        rows = await app.connector.execute_query_all_async(
            "SELECT count(*) AS n FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        )
        return int(rows[0]["n"])

    def versions(self) -> dict[str, str]:
        return {name: metadata.version(name) for name in ("procrastinate", "psycopg")}
