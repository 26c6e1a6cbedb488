"""PgQueuer's side of bench/events.py, set up as PgQueuer's README and guides show.

Worker: one process running ``pgqueuer.run(factory)``, which is what ``pgq run
pgqueuer_peer:factory --batch-size N`` runs (the CLI itself fails at start-up with typer
0.29: its ``--log-level`` parser hands ``setup_fancy_logger`` a str). The factory connects
with asyncpg and yields a ``PgQueuer`` with two entrypoints: ``bench_noop`` records the
latency; ``bench_insert`` inserts one row into ``received`` from a connection of an asyncpg
pool held as a shared resource (one statement, so its own transaction), then records the
latency. PgQueuer acknowledges jobs by deleting them from its queue table and logging them,
in batches (its ``JobStatusLogBuffer``: up to the batch size or 0.1 s); a job counts as
delivered once it is gone from the queue table, so the acknowledgement is inside the time.
Schema: ``pgq install`` (``durable``, its default: every table logged).

Publisher: ``Queries.enqueue`` on an asyncpg connection; a group of events is one
``enqueue`` call (one statement) inside ``connection.transaction()``, a single event one
``enqueue`` call on its own (its own transaction), as the README's examples do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

import asyncpg
from _common import DATABASE_ENV, INSERT_RECEIVED, RECEIVED_TABLE, Latencies, payload
from pgqueuer import PgQueuer
from pgqueuer.db import AsyncpgDriver
from pgqueuer.models import Job
from pgqueuer.queries import Queries

ENTRYPOINTS = {"noop": "bench_noop", "insert": "bench_insert"}


@asynccontextmanager
async def factory() -> AsyncIterator[PgQueuer]:
    """The worker's PgQueuer, for ``pgq run pgqueuer_peer:factory`` (1.6 wants a context)."""
    url = os.environ[DATABASE_ENV]
    connection = await asyncpg.connect(url)
    pool = await asyncpg.create_pool(url)  # asyncpg's defaults: 10 connections
    pgq = PgQueuer(AsyncpgDriver(connection), resources={"pool": pool})
    latencies = Latencies()

    @pgq.entrypoint(ENTRYPOINTS["noop"])
    async def bench_noop(job: Job) -> None:
        event = json.loads(job.payload or b"{}")
        latencies.record(event["number"], event["sent_at"])

    @pgq.entrypoint(ENTRYPOINTS["insert"])
    async def bench_insert(job: Job) -> None:
        event = json.loads(job.payload or b"{}")
        latency = latencies.record(event["number"], event["sent_at"])
        async with pool.acquire() as db:
            await db.execute(INSERT_RECEIVED, event["number"], latency)

    try:
        yield pgq
    finally:
        await pool.close()
        await connection.close()


class Peer:
    """The publisher's side: schema, worker command, enqueueing, what is left to deliver."""

    name = "pgqueuer"

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self.url = url
        self.batch_size = int(options.get("batch_size", 10))  # pgq run's default
        self.connection: Any = None
        self.queries: Any = None

    def install(self) -> None:
        pgq = [sys.executable, "-m", "pgqueuer", "--pg-dsn", self.url]
        subprocess.run([*pgq, "install"], check=True, capture_output=True, timeout=120)

    def worker_command(self) -> list[str]:
        # What `pgq run pgqueuer_peer:factory --batch-size N` runs (see the docstring).
        return [sys.executable, "pgqueuer_peer.py", "worker", str(self.batch_size)]

    async def open(self) -> None:
        self.connection = await asyncpg.connect(self.url)
        await self.connection.execute(RECEIVED_TABLE)
        self.queries = Queries(AsyncpgDriver(self.connection))

    async def close(self) -> None:
        await self.connection.close()

    async def publish(self, handler: str, numbers: list[int]) -> None:
        entrypoint = ENTRYPOINTS[handler]
        if len(numbers) == 1:
            await self.queries.enqueue(entrypoint, payload(numbers[0]))
            return
        events = [payload(number) for number in numbers]
        async with self.connection.transaction():
            await self.queries.enqueue([entrypoint] * len(events), events, [0] * len(events))

    async def pending(self) -> int:
        return int(await self.connection.fetchval("SELECT count(*) FROM pgqueuer"))

    def versions(self) -> dict[str, str]:
        return {name: metadata.version(name) for name in ("pgqueuer", "asyncpg")}


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    import uvloop
    from pgqueuer import run

    uvloop.run(run("pgqueuer_peer:factory", batch_size=int(sys.argv[2])))
