"""modupy's process-per-module topology over Redis Streams, on bench/units.py's workloads.

    bench/.scratch/units-peers/bin/python bench/units_peers/modupy_units.py \\
        --redis-url URL --workload throughput|latency [--events 20000] [--rate 1000] \\
        [--seconds 10]

Set up as modupy's README shows ("Give busy modules their own processes", "Spread across
machines", "Never lose an event"): ``topology = "processes"``, ``broker = "redis-streams"``
and the SQL outbox (on a SQLite file, WAL, as Dolmen's bench unit uses SQLite). The
application is bench/units_peers/modupy_split: ``sink`` runs in a worker process of its
own (``MODULITH_MODULE=sink uvicorn modulith._worker:create_app --factory``, as the README
starts one module), its consumer reading the event's stream; this process hosts
``source`` the way that worker hosts its module, and publishes inside SQLAlchemy sessions:
each commit writes the outbox rows, and the outbox then sends them to the stream. modupy's
consumer runs the listener straight from the stream (it writes nothing before acking).

Workloads, as bench/units_events.py runs Dolmen's: 2,000 warm-up events first; throughput,
``--events`` events published 100 per commit, from the first publish until the sink ran
the last one (its count polled every 5 ms); latency, one event per commit at ``--rate`` for
``--seconds``, from just before the commit until the listener ran, p50/p99 without the
first second. The CPU time of both processes is counted. The last line of stdout is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = "modupy_split"
WARM_UP = 200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Split:
    """The sink's worker process, and this process as the source's."""

    def __init__(self, redis_url: str, scratch: Path) -> None:
        self.redis_url = redis_url
        self.prefix = f"h5bench.{uuid.uuid4().hex[:8]}"
        self.outbox_url = f"sqlite+aiosqlite:///{scratch / 'source.db'}"
        self.port = free_port()
        self.env = dict(
            os.environ, PYTHONPATH=str(HERE), MODULITH_TOPOLOGY="processes",
            MODULITH_BROKER="redis-streams", REDIS_URL=redis_url,
            MODULITH_STREAM_PREFIX=self.prefix, MODULITH_STREAM_MAXLEN="10000000",
        )  # fmt: skip
        self.log = scratch / "sink.log"

    def start_sink(self) -> None:
        env = dict(self.env, MODULITH_MODULE="sink", MODULITH_APP_PACKAGE=PACKAGE,
                   MODULITH_OUTBOX="memory")  # fmt: skip
        with self.log.open("wb") as out:
            self.sink = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "modulith._worker:create_app", "--factory",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                cwd=HERE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    async def open_source(self) -> None:
        os.environ.update(self.env)
        sys.path.insert(0, str(HERE))
        import modulith
        from modulith.builtin import outbox
        from modulith.runtime import _runtime
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        env = dict(self.env, MODULITH_OUTBOX="postgres", MODULITH_OUTBOX_URL=self.outbox_url)
        modulith_cli = os.path.join(os.path.dirname(sys.executable), "modulith")
        migrate = await asyncio.create_subprocess_exec(
            modulith_cli, "migrate", env=env, stdout=asyncio.subprocess.DEVNULL
        )
        if await migrate.wait() != 0:
            raise RuntimeError("modulith migrate failed")
        modulith.configure(package=PACKAGE, auto_discover=False, topology="processes",
                           broker="redis-streams", outbox="postgres",
                           outbox_url=self.outbox_url,
                           outbox_options={"sqlite_wal": True})  # fmt: skip
        modulith.bootstrap()
        __import__(f"{PACKAGE}.contracts")
        _runtime.host_module(f"{PACKAGE}.source")
        __import__(f"{PACKAGE}.source")
        _runtime.bind_configured_outbox()
        outbox.start()
        self.outbox = outbox
        self.engine = create_async_engine(self.outbox_url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def publish(self, numbers: list[int]) -> None:
        from modulith import publish
        from modulith.builtin.outbox import bind_session, unbind_session
        from modupy_split.contracts import Happened

        async with self.sessions() as session:
            token = bind_session(session)
            try:
                sent_at = time.time()
                for number in numbers:
                    await publish(Happened(number=number, sent_at=sent_at))
                await session.commit()
            finally:
                unbind_session(token)

    async def ready(self, client: Any) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.sink.poll() is not None:
                raise RuntimeError(f"the sink exited:\n{self.log.read_text()[-3000:]}")
            try:
                if (await client.get(f"http://127.0.0.1:{self.port}/sink/seen")).is_success:
                    return
            except Exception:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the sink did not start")

    async def handled(self, client: Any, count: int) -> None:
        deadline = time.monotonic() + 600
        while True:
            seen = (await client.get(f"http://127.0.0.1:{self.port}/sink/seen")).json()["count"]
            if seen >= count:
                return
            if time.monotonic() > deadline or self.sink.poll() is not None:
                raise RuntimeError(f"the sink handled {seen} of {count} events")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        self.sink.send_signal(signal.SIGTERM)
        try:
            self.sink.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.sink.pid, signal.SIGKILL)
            self.sink.wait(timeout=30)
        if hasattr(self, "outbox"):
            await self.outbox.shutdown()
            await self.engine.dispose()
        import redis.asyncio

        client = redis.asyncio.from_url(self.redis_url)
        keys = [key async for key in client.scan_iter(f"{self.prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def measure(args: argparse.Namespace, split: Split, client: Any) -> dict[str, Any]:
    for start in range(-WARM_UP, 0, 100):
        await split.publish(list(range(start, start + 100)))
    await split.handled(client, WARM_UP)
    cpu = time.process_time(), cpu_seconds(split.sink.pid)
    if args.workload == "throughput":
        started = time.perf_counter()
        for start in range(0, args.events, 100):
            await split.publish(list(range(start, min(start + 100, args.events))))
        await split.handled(client, WARM_UP + args.events)
        seconds = time.perf_counter() - started
        return {"events": args.events, "events_per_s": round(args.events / seconds),
                **cpu_per_event(split, cpu, args.events)}  # fmt: skip
    total = int(args.rate * args.seconds)
    start = time.perf_counter() + 0.1
    for number in range(total):
        delay = start + number / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await split.publish([number])
    lag = max(time.perf_counter() - (start + total / args.rate), 0.0)
    await split.handled(client, WARM_UP + total)
    figures = cpu_per_event(split, cpu, total)
    seen = (await client.get(f"http://127.0.0.1:{split.port}/sink/latencies")).json()
    kept = sorted(s for n, s in seen if n >= args.rate)  # the first second dropped
    return {"sent": total, "achieved_rate": round(total / (args.seconds + lag)),
            "p50_ms": round(statistics.median(kept) * 1000, 2),
            "p99_ms": round(kept[max(int(len(kept) * 0.99) - 1, 0)] * 1000, 2),
            **figures}  # fmt: skip


def cpu_per_event(split: Split, before: tuple[float, float], events: int) -> dict[str, float]:
    source = time.process_time() - before[0]
    sink = cpu_seconds(split.sink.pid) - before[1]
    return {"cpu_ms_per_event": round((source + sink) * 1000 / events, 3),
            "sending_cpu_ms_per_event": round(source * 1000 / events, 3),
            "receiving_cpu_ms_per_event": round(sink * 1000 / events, 3)}  # fmt: skip


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="units-modupy-") as scratch:
        split = Split(args.redis_url, Path(scratch))
        split.start_sink()
        try:
            await split.open_source()
            async with httpx.AsyncClient() as client:
                await split.ready(client)
                result = await measure(args, split, client)
        finally:
            await split.close()
    versions = {name: metadata.version(name) for name in ("modupy", "redis", "sqlalchemy")}
    return {"system": "modupy", "workload": args.workload, **result, "versions": versions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--workload", choices=["throughput", "latency"], required=True)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    import json

    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
