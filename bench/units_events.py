"""Events across two units, per transport: throughput, and latency at a steady rate.

    .venv/bin/python bench/units_events.py [--transports memory rabbitmq nats redis]
        [--events 20000] [--rate 1000] [--seconds 10] [--receiver sqlite|memory] [--split]

One process plays both units (with ``--split``, the receiving unit runs in a child process of
its own, as it would deployed), each with its own outbox and dispatcher: events are appended
to the sending unit's outbox as a publisher's commits would write them (with ``--receiver
sqlite``, the default, the outbox is a SQLite file and each append a committed unit of
work), its dispatcher runs the forwarding deliveries with a ``Relay`` (batched, ordered by
subject) on the transport; the receiving unit's ``Intake`` takes them into its outbox (a
SQLite file by default, as an app would, or memory) and its dispatcher runs a handler that
records when it ran. Each process, once its units have started, freezes the objects alive
then out of the garbage collector's full passes, as ``App.start`` does (``[app] gc_freeze``,
on by default): without it, a full pass over the imported libraries stalls a process for
30-40 ms every few seconds, which a deployed unit does not see. Brokers:
DOLMEN_TEST_RABBITMQ_URL, DOLMEN_TEST_NATS_URL, DOLMEN_TEST_REDIS_URL (or the local defaults),
each run on a destination of its own, dropped afterwards.

- throughput: ``--events`` events over 1,000 subjects appended 100 per commit as fast as they
  go; events per second from the first append until the last handler ran.
- latency: ``--rate`` events per second for ``--seconds``; the time from the append until the
  receiving handler runs, p50 and p99, the first second dropped.

bench/units.py runs these against modupy's process-per-module topology in the same run.
Figures belong in docs/benchmarks.md only from a quiet machine (run it alone).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _loop  # bench/, this script's folder

from dolmen.events import (
    OUTBOX_TABLES,
    Claimed,
    Dispatcher,
    Envelope,
    EventSettings,
    InMemoryDeliveryStore,
    Retry,
    SqlDeliveryStore,
)
from dolmen.events._envelope import new_event_id
from dolmen.modules._gc import freeze_startup_objects
from dolmen.persistence import Database, UnitOfWork
from dolmen.units import (
    InMemoryTransport,
    Intake,
    NatsTransport,
    RabbitMQTransport,
    RedisTransport,
    Relay,
    Transport,
)

URLS = {
    "rabbitmq": ("DOLMEN_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "nats": ("DOLMEN_TEST_NATS_URL", "nats://127.0.0.1:4222"),
    "redis": ("DOLMEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
}
HANDLER = "bench.record"


@dataclass(frozen=True)
class Handler:
    name: str = HANDLER
    retry: Retry = field(default_factory=Retry)
    ordered: bool = True


def make(kind: str, memory: InMemoryTransport) -> Transport:
    if kind == "memory":
        return memory
    variable, default = URLS[kind]
    url = os.environ.get(variable, default)
    return {"rabbitmq": RabbitMQTransport, "nats": NatsTransport, "redis": RedisTransport}[kind](
        url
    )


class Recorder:
    """The receiving handler: when each event arrived, against when it was appended."""

    def __init__(self) -> None:
        self.latencies: list[tuple[float, float]] = []  # (appended at, seconds until here)
        self.done = asyncio.Event()
        self.expected = 0
        self.last = 0.0

    async def __call__(self, claimed: Claimed) -> bool:
        self.last = time.time()
        self.latencies.append((claimed.envelope.time, self.last - claimed.envelope.time))
        if len(self.latencies) >= self.expected:
            self.done.set()
        return False


@dataclass
class Receiving:
    """The receiving unit: its intake, its outbox and its dispatcher running the recorder."""

    transport: Transport
    worker: Dispatcher
    intake: Intake
    recorder: Recorder
    database: Database | None


@dataclass
class Pair:
    sending: Transport
    outbox: InMemoryDeliveryStore | SqlDeliveryStore
    sending_database: Database | None
    relay: Relay
    forwarder: Dispatcher
    destination: str
    receiving: Receiving | None  # None: in a process of its own


SETTINGS = EventSettings(batch_size=500, concurrency=50)


async def receiving_unit(
    kind: str, receiver: str, destination: str, scratch: Path, memory: InMemoryTransport
) -> Receiving:
    transport = make(kind, memory)
    await transport.open()
    database: Database | None = None
    inbox: Any
    if receiver == "sqlite":
        database = Database(f"sqlite:///{scratch / f'{destination}.db'}", [OUTBOX_TABLES])
        await database.open(create_tables=True)
        inbox = SqlDeliveryStore(database)
    else:
        inbox = InMemoryDeliveryStore()
    recorder = Recorder()
    worker = Dispatcher(inbox, recorder, {HANDLER: Retry()}, SETTINGS)
    intake = Intake(
        transport, inbox, destination, {"bench.Happened": [Handler()]}, on_received=worker.hint
    )
    worker.hinted = True  # woken by each batch taken in, as an app's commits wake it
    worker.start()
    await intake.start()
    freeze_startup_objects()  # as App.start does once a unit has started ([app] gc_freeze)
    return Receiving(transport, worker, intake, recorder, database)


async def close_receiving(r: Receiving, destination: str) -> None:
    await r.intake.stop()
    await r.worker.stop()
    drop = getattr(r.transport, "drop", None)
    if drop is not None:
        await drop(destination)
    await r.transport.close()
    if r.database is not None:
        await r.database.close()


async def pair(kind: str, receiver: str, scratch: Path, *, split: bool = False) -> Pair:
    """The sending unit here; the receiving unit here too, or (``split``) in a child process."""
    memory = InMemoryTransport(batch_size=500)
    sending = make(kind, memory)
    await sending.open()
    destination = f"bench{uuid.uuid4().hex[:8]}"
    outbox: InMemoryDeliveryStore | SqlDeliveryStore = InMemoryDeliveryStore()
    sending_database = None
    if receiver == "sqlite":  # the sending unit's outbox too, as the app's database
        url = f"sqlite:///{scratch / f'{destination}-sending.db'}"
        sending_database = Database(url, [OUTBOX_TABLES])
        await sending_database.open(create_tables=True)
        outbox = SqlDeliveryStore(sending_database)
    relay = Relay(sending, [destination])
    forwarder = relay.dispatcher(outbox, SETTINGS)
    receiving = None
    if not split:
        receiving = await receiving_unit(kind, receiver, destination, scratch, memory)
    # Woken at each append, as an app's commits wake its dispatcher: no fast polling.
    forwarder.hinted = True
    forwarder.start()
    freeze_startup_objects()  # as App.start does once a unit has started ([app] gc_freeze)
    return Pair(sending, outbox, sending_database, relay, forwarder, destination, receiving)


async def close(p: Pair) -> None:
    await p.forwarder.stop()
    if p.receiving is not None:
        await close_receiving(p.receiving, p.destination)
    await p.sending.close()
    if p.sending_database is not None:
        await p.sending_database.close()


async def publish(p: Pair, count: int, start: int) -> None:
    now = time.time()
    envelopes = [
        Envelope(
            new_event_id(),
            "bench.Happened",
            1,
            "/bench/a",
            now,
            json.dumps({"n": n}),
            f"s{n % 1000}",
        )
        for n in range(start, start + count)
    ]
    deliveries = [d for e in envelopes for d in p.relay.deliveries(e, [p.destination])]
    if p.sending_database is None:
        await p.outbox.append(None, envelopes, deliveries)
    else:  # one committed unit of work, as a publisher's
        uow = UnitOfWork(p.sending_database)
        await p.outbox.append(uow, envelopes, deliveries)
        await uow.commit()
    p.forwarder.hint()


class Received:
    """Waits for the receiving unit's handler to have run ``expected`` times: here, or in a
    child process (``--receive``), which reports its latencies and CPU time when done."""

    def __init__(self, p: Pair, expected: int) -> None:
        self.p, self.expected = p, expected
        self.child: asyncio.subprocess.Process | None = None

    async def start(self, kind: str, receiver: str) -> None:
        if self.p.receiving is not None:
            self.p.receiving.recorder.expected = self.expected
            return
        self.child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--receive", self.p.destination, "--transports", kind,
            "--receiver", receiver, "--events", str(self.expected),
            stdout=asyncio.subprocess.PIPE, limit=2**28,
        )  # fmt: skip
        assert self.child.stdout is not None
        if (await asyncio.wait_for(self.child.stdout.readline(), 120)).strip() != b"ready":
            raise RuntimeError("the receiving unit did not start")

    async def finished(self) -> tuple[list[tuple[float, float]], float, float]:
        """(appended at, seconds until handled) of each event, when the last ran, CPU s."""
        if self.child is None:
            assert self.p.receiving is not None
            recorder = self.p.receiving.recorder
            await asyncio.wait_for(recorder.done.wait(), 600)
            return recorder.latencies, recorder.last, 0.0
        assert self.child.stdout is not None
        line = await asyncio.wait_for(self.child.stdout.readline(), 600)
        await self.child.wait()
        done = json.loads(line)
        return [tuple(pair) for pair in done["latencies"]], done["last_at"], done["cpu_s"]


async def throughput(
    kind: str, receiver: str, events: int, scratch: Path, *, split: bool = False
) -> dict[str, float]:
    """Events per second, and the CPU time per event of both units."""
    p = await pair(kind, receiver, scratch, split=split)
    try:
        received = Received(p, events)
        await received.start(kind, receiver)
        cpu, started = time.process_time(), time.time()
        for first in range(0, events, 100):
            await publish(p, min(100, events - first), first)
        _, last_at, child_cpu = await received.finished()
        cpu_ms = (time.process_time() - cpu + child_cpu) * 1000
        return {"events_per_s": round(events / (last_at - started)),
                "cpu_ms_per_event": round(cpu_ms / events, 3)}  # fmt: skip
    finally:
        await close(p)


async def latency(
    kind: str, receiver: str, rate: int, seconds: float, scratch: Path, *, split: bool = False
) -> dict[str, float]:
    """p50 and p99 in ms at ``rate``, and the CPU time per event of both units."""
    p = await pair(kind, receiver, scratch, split=split)
    try:
        total = int(rate * seconds)
        received = Received(p, total)
        await received.start(kind, receiver)
        per_tick = max(1, rate // 100)  # every 10 ms
        cpu, started = time.process_time(), time.perf_counter()
        for sent in range(0, total, per_tick):
            await publish(p, per_tick, sent)
            ahead = started + (sent + per_tick) / rate - time.perf_counter()
            await asyncio.sleep(max(ahead, 0.0))
        lag = max(time.perf_counter() - started - seconds, 0.0)
        latencies, _, child_cpu = await received.finished()
        cpu_ms = (time.process_time() - cpu + child_cpu) * 1000 / total
        first = min(at for at, _ in latencies)
        kept = sorted(s for at, s in latencies if at >= first + 1.0)
        p50 = statistics.median(kept)
        p99 = kept[min(len(kept) - 1, int(len(kept) * 0.99))]
        return {"p50_ms": round(p50 * 1000, 2), "p99_ms": round(p99 * 1000, 2),
                "achieved_rate": round(total / (seconds + lag)),
                "cpu_ms_per_event": round(cpu_ms, 3)}  # fmt: skip
    finally:
        await close(p)


async def receive(kind: str, receiver: str, destination: str, expected: int) -> None:
    """The receiving unit alone (``--receive``): says ``ready``, then its figures as JSON."""
    with tempfile.TemporaryDirectory() as scratch:
        r = await receiving_unit(kind, receiver, destination, Path(scratch), InMemoryTransport())
        r.recorder.expected = expected
        print("ready", flush=True)
        cpu = time.process_time()
        try:
            await asyncio.wait_for(r.recorder.done.wait(), 600)
            cpu = time.process_time() - cpu
        finally:
            await close_receiving(r, destination)
        figures = {"latencies": r.recorder.latencies, "last_at": r.recorder.last, "cpu_s": cpu}
        print(json.dumps(figures), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", nargs="+", default=["memory", "rabbitmq", "nats", "redis"])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--receiver", choices=["sqlite", "memory"], default="sqlite")
    parser.add_argument("--split", action="store_true", help="the receiving unit in a process")
    parser.add_argument("--receive", metavar="DESTINATION", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.receive:
        await receive(options.transports[0], options.receiver, options.receive, options.events)
        return
    print(f"receiving outbox: {options.receiver}; {os.cpu_count()} CPUs")
    print(f"{'transport':10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8}  (at {options.rate}/s)")
    with tempfile.TemporaryDirectory() as scratch:
        for kind in options.transports:
            split = options.split and kind != "memory"
            rate = await throughput(
                kind, options.receiver, options.events, Path(scratch), split=split
            )
            steady = await latency(
                kind, options.receiver, options.rate, options.seconds, Path(scratch), split=split
            )
            print(f"{kind:10} {rate['events_per_s']:10.0f} {steady['p50_ms']:8.2f} "
                  f"{steady['p99_ms']:8.2f}")  # fmt: skip


if __name__ == "__main__":
    _loop.run(main())
