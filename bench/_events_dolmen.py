"""Dolmen's side of bench/events.py: one role per process.

    .venv/bin/python bench/_events_dolmen.py worker --database-url URL --handler noop|insert \\
        --latencies FILE
    .venv/bin/python bench/_events_dolmen.py publish --database-url URL --events N --batch B
    .venv/bin/python bench/_events_dolmen.py steady --database-url URL --rate R --seconds S

A worker runs the app with its dispatcher; the handler of ``source.Ping`` does nothing
(``noop``) or inserts one row in its module's table (``insert``), and records how long after
its publication it ran. It writes those latencies to ``--latencies`` when it gets SIGTERM.
``publish`` runs the app without a dispatcher and publishes ``N`` events, ``B`` per committed
unit of work, as fast as it can, then waits until the outbox is empty; it prints the time
from its first publish to that moment. ``steady`` publishes one event per committed unit of
work at ``R`` per second for ``S`` seconds (absolute deadlines, no drift), then waits until
the outbox is empty; with ``--dispatch`` its own app delivers them (one process, as a small
app on SQLite runs) and it writes the latencies itself. Both print one JSON object on their
last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import _loop  # bench/, this script's folder
from sqlalchemy import Column, Float, Integer, func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from dolmen import App, Event, EventPublisher, Module, ModuleTables, provide
from dolmen.events._outbox_table import deliveries
from dolmen.persistence import UnitOfWork

EXTRA: dict[str, object] = json.loads(os.environ.get("BENCH_EVENTS", "{}"))
"""More ``[events]`` settings, as JSON (for trying other batch sizes or concurrency)."""


class Ping(Event, name="source.Ping"):
    number: int
    sent_at: float


sink_tables = ModuleTables("sink")
received = sink_tables.table(
    "received",
    Column("id", Integer, primary_key=True),
    Column("number", Integer, nullable=False),
    Column("latency", Float),
)


INSERT_RECEIVED = insert(received)
"""Built once, its values bound per call, as the peers' prepared ``INSERT`` (SQLAlchemy
compiles it once and caches it; building ``insert(...).values(...)`` each call costs more than
the statement on SQLite)."""


class Sink:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def record(self, event: Ping, latency: float) -> None:
        connection = await self.uow.connection()
        await connection.execute(INSERT_RECEIVED, {"number": event.number, "latency": latency})


def build(database_url: str, handler: str, latencies: list[float], dispatch: bool) -> App:
    source = Module("source")
    sink = Module("sink", listens_to=["source"], providers=[provide(Sink)], tables=sink_tables)
    if handler == "insert":

        @sink.on(Ping)
        async def on_ping(event: Ping, sink_service: Sink) -> None:
            latency = time.time() - event.sent_at
            await sink_service.record(event, latency)
            latencies.append(latency)

    else:

        @sink.on(Ping)
        async def on_ping(event: Ping) -> None:  # one of the two is declared
            latencies.append(time.time() - event.sent_at)

    events = {"dispatch": dispatch, "poll_max_seconds": 0.05, **EXTRA}
    app_settings = {"database_url": database_url, "database_schema": "create"}
    return App("bench", [source, sink], config={"app": app_settings, "events": events})


async def worker(args: argparse.Namespace) -> None:
    latencies: list[float] = []
    app = build(args.database_url, args.handler, latencies, dispatch=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with app.running():
        print("ready", flush=True)
        await stop.wait()
    with open(args.latencies, "w") as out:  # noqa: ASYNC230  # once, after the run
        out.write(json.dumps(latencies))


async def outbox_empty(app: App, deadline: float) -> None:
    assert app.database is not None
    while time.monotonic() < deadline:
        async with app.database.engine.connect() as connection:
            left = await connection.scalar(select(func.count()).select_from(deliveries))
        if not left:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError("the workers did not empty the outbox in time")


async def publish(args: argparse.Namespace) -> dict[str, object]:
    app = build(args.database_url, "noop", [], dispatch=False)
    async with app.running():
        started = time.perf_counter()
        sent = 0
        while sent < args.events:
            async with app.unit_of_work("source") as work:
                publisher = await work.get(EventPublisher)
                now = time.time()
                for number in range(sent, min(sent + args.batch, args.events)):
                    publisher.publish(Ping(number=number, sent_at=now))
            sent = min(sent + args.batch, args.events)
        published = time.perf_counter() - started
        await outbox_empty(app, time.monotonic() + 600)
        seconds = time.perf_counter() - started
    return {"events": args.events, "batch": args.batch, "seconds": round(seconds, 3),
            "publish_seconds": round(published, 3),
            "events_per_s": round(args.events / seconds)}  # fmt: skip


async def steady(args: argparse.Namespace) -> dict[str, object]:
    latencies: list[float] = []
    app = build(args.database_url, args.handler, latencies, dispatch=args.dispatch)
    total = int(args.rate * args.seconds)
    async with app.running():
        interval = 1.0 / args.rate
        cpu = time.process_time()
        start = time.perf_counter() + 0.1
        for number in range(total):
            delay = start + number * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with app.unit_of_work("source") as work:
                (await work.get(EventPublisher)).publish(Ping(number=number, sent_at=time.time()))
        lag = time.perf_counter() - (start + total * interval)
        cpu = time.process_time() - cpu
        await outbox_empty(app, time.monotonic() + 120)
    if args.dispatch:  # delivered here: this process has the latencies
        with open(args.latencies, "w") as out:  # noqa: ASYNC230  # once, after the run
            out.write(json.dumps(latencies))
    return {"sent": total, "rate": args.rate, "publisher_lag_s": round(max(lag, 0.0), 3),
            "cpu_ms_per_event": round(cpu * 1000 / total, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["worker", "publish", "steady"])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--handler", choices=["noop", "insert"], default="noop")
    parser.add_argument("--latencies", default="latencies.json")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dispatch", action="store_true", help="steady: deliver here too")
    args = parser.parse_args()
    if args.role == "worker":
        _loop.run(worker(args))
        return
    run = publish if args.role == "publish" else steady
    print(json.dumps(_loop.run(run(args))))


if __name__ == "__main__":
    main()
