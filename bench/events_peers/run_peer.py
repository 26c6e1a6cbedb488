"""Time one PostgreSQL-backed peer on one workload of bench/events.py, in the peers' venv.

    bench/.scratch/events-peers/bin/python bench/events_peers/run_peer.py \\
        --peer pgqueuer|procrastinate|modupy --database-url URL \\
        --workload throughput|latency [--handler noop|insert] [--events 20000] [--batch 100] \\
        [--rate 1000] [--seconds 10] [--options JSON]

The database (PostgreSQL, or for modupy also a SQLite file URL) must exist and be empty:
bench/events.py makes a fresh one per measurement. The peer installs its own schema with its
own command, and its worker runs as a subprocess in its own process group with the peer's own
command (modupy delivers in the publishing process, after the commit, as it is built to).
Then, as for Dolmen: 2,000 warm-up events (``--warm-up``) handled and not counted;
throughput publishes ``--events`` events ``--batch`` per committed transaction from this
process and runs until the peer's queue has nothing left to deliver (polled every 5 ms, as
Dolmen's outbox is); latency publishes one event per committed transaction at ``--rate`` per
second for ``--seconds`` (absolute deadlines), and its p50/p99 are over the worker's own
latencies with the first second dropped. The worker gets SIGTERM, then SIGKILL after 30 s,
also on failure. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import DATABASE_ENV, LATENCIES_ENV, latency_figures, read_latencies

HERE = Path(__file__).resolve().parent
TIMEOUT_S = 600.0
STOP_GRACE_S = 30.0


class Worker:
    """The peer's worker process, in its own process group."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(command, cwd=HERE, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)  # fmt: skip

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the worker exited with {self.proc.returncode}:\n{tail}")

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            print("run_peer: the worker ignored SIGTERM; killing it", file=sys.stderr)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_GRACE_S)


async def drained(peer: Any, worker: Worker | None) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while await peer.pending():
        if worker is not None:
            worker.check()
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{await peer.pending()} events still undelivered after {TIMEOUT_S} s"
            )
        await asyncio.sleep(0.005)


async def publish_groups(peer: Any, handler: str, first: int, total: int, batch: int) -> None:
    for start in range(first, first + total, batch):
        await peer.publish(handler, list(range(start, min(start + batch, first + total))))


async def measure(args: argparse.Namespace, peer: Any, worker: Worker | None) -> dict[str, Any]:
    await publish_groups(peer, args.handler, -args.warm_up, args.warm_up, 100)  # not recorded
    await drained(peer, worker)
    if args.workload == "throughput":
        started = time.perf_counter()
        await publish_groups(peer, args.handler, 0, args.events, args.batch)
        published = time.perf_counter() - started
        await drained(peer, worker)
        seconds = time.perf_counter() - started
        return {"events": args.events, "batch": args.batch, "seconds": round(seconds, 3),
                "publish_seconds": round(published, 3),
                "events_per_s": round(args.events / seconds)}  # fmt: skip
    total = int(args.rate * args.seconds)
    interval = 1.0 / args.rate
    start = time.perf_counter() + 0.1
    for number in range(total):
        delay = start + number * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await peer.publish(args.handler, [number])
    lag = time.perf_counter() - (start + total * interval)
    await drained(peer, worker)
    return {"sent": total, "rate": args.rate, "publisher_lag_s": round(max(lag, 0.0), 3)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ[DATABASE_ENV] = args.database_url  # read by the peer's module at import
    scratch = Path(tempfile.mkdtemp(prefix=f"events-{args.peer}-"))
    latencies = str(scratch / "latencies")
    sys.path.insert(0, str(HERE))
    module = importlib.import_module(f"{args.peer}_peer")
    peer = module.Peer(args.database_url, json.loads(args.options))
    peer.install()
    command = peer.worker_command()
    await peer.open()
    worker = None
    try:
        if command is not None:
            env = dict(os.environ, PYTHONPATH=str(HERE), **{LATENCIES_ENV: latencies})
            worker = Worker(command, env, scratch / "worker.log")
        result = await measure(args, peer, worker)
    finally:
        if worker is not None:
            worker.stop()
        await peer.close()
    if args.workload == "latency":
        # modupy delivers in this process; the others' workers wrote files.
        seen = peer.latencies.seen if worker is None else read_latencies(latencies)
        result |= latency_figures(seen, args.rate)
    shutil.rmtree(scratch, ignore_errors=True)  # kept when the run failed, with its log
    versions = peer.versions() | {"python": platform.python_version()}
    return {"peer": args.peer, "workload": args.workload, "handler": args.handler, **result,
            "settings": getattr(peer, "settings", {}), "versions": versions}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=["pgqueuer", "procrastinate", "modupy"], required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workload", choices=["throughput", "latency"], required=True)
    parser.add_argument("--handler", choices=["noop", "insert"], default="noop")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warm-up", type=int, default=2000, help="events handled first")
    parser.add_argument("--options", default="{}", help="peer settings, as JSON")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
