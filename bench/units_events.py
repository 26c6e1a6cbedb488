"""Events across two units, per transport: throughput, and latency at a steady rate.

    .venv/bin/python bench/units_events.py [--transports memory rabbitmq nats redis]
        [--events 20000] [--rate 1000] [--seconds 10] [--receiver sqlite|memory]

One process plays both units, each with its own outbox and dispatcher: the sending unit's
outbox is in memory (events are appended as a publisher's commit would write them), its
dispatcher runs the forwarding deliveries with a ``Relay`` (batched, ordered by subject) on
the transport; the receiving unit's ``Intake`` takes them into its outbox (a SQLite file by
default, as an app would, or memory) and its dispatcher runs a handler that records when it
ran. Brokers: DOLMEN_TEST_RABBITMQ_URL, DOLMEN_TEST_NATS_URL, DOLMEN_TEST_REDIS_URL (or the
local defaults), each run on a destination of its own, dropped afterwards.

- throughput: ``--events`` events over 1,000 subjects appended at once; events per second
  from the first append until the last handler ran.
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
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from dolmen.persistence import Database
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

    async def __call__(self, claimed: Claimed) -> bool:
        self.latencies.append((claimed.envelope.time, time.time() - claimed.envelope.time))
        if len(self.latencies) >= self.expected:
            self.done.set()
        return False


@dataclass
class Pair:
    sending: Transport
    receiving: Transport
    outbox: InMemoryDeliveryStore
    relay: Relay
    forwarder: Dispatcher
    worker: Dispatcher
    intake: Intake
    recorder: Recorder
    destination: str
    database: Database | None


async def pair(kind: str, receiver: str, scratch: Path) -> Pair:
    memory = InMemoryTransport(batch_size=500)
    sending, receiving = make(kind, memory), make(kind, memory)
    await sending.open()
    await receiving.open()
    destination = f"bench{uuid.uuid4().hex[:8]}"
    outbox = InMemoryDeliveryStore()
    relay = Relay(sending, [destination])
    settings = EventSettings(batch_size=500, concurrency=50)
    forwarder = relay.dispatcher(outbox, settings)
    database: Database | None = None
    inbox: Any
    if receiver == "sqlite":
        database = Database(f"sqlite:///{scratch / f'{destination}.db'}", [OUTBOX_TABLES])
        await database.open(create_tables=True)
        inbox = SqlDeliveryStore(database)
    else:
        inbox = InMemoryDeliveryStore()
    recorder = Recorder()
    worker = Dispatcher(inbox, recorder, {HANDLER: Retry()}, settings)
    intake = Intake(
        receiving, inbox, destination, {"bench.Happened": [Handler()]}, on_received=worker.hint
    )
    # Woken at each append (the publisher's commit) and at each batch taken in, as an app's
    # commits wake its dispatchers: no fast polling (see Dispatcher.hinted).
    forwarder.hinted = worker.hinted = True
    forwarder.start()
    worker.start()
    await intake.start()
    return Pair(sending, receiving, outbox, relay, forwarder, worker, intake, recorder,
                destination, database)  # fmt: skip


async def close(p: Pair) -> None:
    await p.intake.stop()
    await p.forwarder.stop()
    await p.worker.stop()
    drop = getattr(p.receiving, "drop", None)
    if drop is not None:
        await drop(p.destination)
    await p.sending.close()
    await p.receiving.close()
    if p.database is not None:
        await p.database.close()


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
    await p.outbox.append(None, envelopes, deliveries)
    p.forwarder.hint()


async def throughput(kind: str, receiver: str, events: int, scratch: Path) -> dict[str, float]:
    """Events per second, and the CPU time per event of this process (both units)."""
    p = await pair(kind, receiver, scratch)
    try:
        p.recorder.expected = events
        cpu, started = time.process_time(), time.perf_counter()
        await publish(p, events, 0)
        await asyncio.wait_for(p.recorder.done.wait(), 600)
        seconds, cpu_ms = time.perf_counter() - started, (time.process_time() - cpu) * 1000
        return {"events_per_s": round(events / seconds),
                "cpu_ms_per_event": round(cpu_ms / events, 3)}  # fmt: skip
    finally:
        await close(p)


async def latency(
    kind: str, receiver: str, rate: int, seconds: float, scratch: Path
) -> dict[str, float]:
    """p50 and p99 in ms at ``rate``, and the CPU time per event of this process."""
    p = await pair(kind, receiver, scratch)
    try:
        total = int(rate * seconds)
        p.recorder.expected = total
        per_tick = max(1, rate // 100)  # every 10 ms
        cpu, started = time.process_time(), time.perf_counter()
        for sent in range(0, total, per_tick):
            await publish(p, per_tick, sent)
            ahead = started + (sent + per_tick) / rate - time.perf_counter()
            await asyncio.sleep(max(ahead, 0.0))
        lag = max(time.perf_counter() - started - seconds, 0.0)
        await asyncio.wait_for(p.recorder.done.wait(), 600)
        cpu_ms = (time.process_time() - cpu) * 1000 / total
        first = min(at for at, _ in p.recorder.latencies)
        kept = sorted(s for at, s in p.recorder.latencies if at >= first + 1.0)
        p50 = statistics.median(kept)
        p99 = kept[min(len(kept) - 1, int(len(kept) * 0.99))]
        return {"p50_ms": round(p50 * 1000, 2), "p99_ms": round(p99 * 1000, 2),
                "achieved_rate": round(total / (seconds + lag)),
                "cpu_ms_per_event": round(cpu_ms, 3)}  # fmt: skip
    finally:
        await close(p)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", nargs="+", default=["memory", "rabbitmq", "nats", "redis"])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--receiver", choices=["sqlite", "memory"], default="sqlite")
    options = parser.parse_args()
    print(f"receiving outbox: {options.receiver}; {os.cpu_count()} CPUs")
    print(f"{'transport':10} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8}  (at {options.rate}/s)")
    with tempfile.TemporaryDirectory() as scratch:
        for kind in options.transports:
            rate = await throughput(kind, options.receiver, options.events, Path(scratch))
            steady = await latency(
                kind, options.receiver, options.rate, options.seconds, Path(scratch)
            )
            print(f"{kind:10} {rate['events_per_s']:10.0f} {steady['p50_ms']:8.2f} "
                  f"{steady['p99_ms']:8.2f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
