"""Issue 17's benchmark: events across units per transport against modupy, and remote calls.

    .venv/bin/python bench/units.py [--transports rabbitmq nats redis] [--events 20000]
        [--rate 1000] [--seconds 10] [--rounds 1] [--no-peers] [--calls]

- Events across units (bench/units_events.py): a sending unit's outbox, its relay and a
  transport to a receiving unit whose intake takes the events into its own outbox (a
  SQLite file) and whose dispatcher runs the handler. Throughput: ``--events`` events at
  once, from the first append until the last handler ran; latency: ``--rate`` events a
  second for ``--seconds``, from the append until the handler ran, p50 and p99 without the
  first second. The sending unit runs in this process, the receiving one in a process of its
  own (``--split``; with ``memory``, both here); the CPU time per event of both is counted.
- modupy's process-per-module topology over Redis Streams (bench/units_peers), in the same
  run on the same workloads: its publishing module in a process of its own (its SQL outbox
  on a SQLite file, sending to the stream after each commit), the listening module in a
  worker process; the CPU time of both processes is counted. It gets fewer events
  (``PEER_EVENTS``, ``PEER_SECONDS``): it handles under a hundred a second here, and a rate
  is a rate. Its virtual environment
  is bench/.scratch/units-peers, made from bench/units_peers/requirements.txt when missing.
- ``--calls``: also bench/units_calls.py (a remote call against the same call in process).

Dolmen's processes run on uvloop when ``dolmen[fast]`` is installed, as ``dolmen run`` would
(``BENCH_PLAIN=1``: asyncio's loop). Measurements alternate between systems each round; the
medians are printed with the ratios Dolmen / modupy. Goals (issue 17): at least 5,000 events/s
across units on RabbitMQ and on NATS, p99 at most 20 ms at 1,000 events/s, ahead of modupy on
both; a remote call on loopback at most 1 ms p50. Figures go to docs/benchmarks.md only from a
quiet machine: on a busy one, compare the CPU time per event and the ratios of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _loop  # bench/, this script's folder
import units_events

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS = BENCH / ".scratch" / "units-peers"
PEERS_PYTHON = PEERS / "bin" / "python"
PEER_EVENTS = 1000
PEER_SECONDS = 3.0

Figures = dict[str, float]


def peers_environment() -> None:
    """Create the peers' virtual environment when missing or its requirements changed."""
    requirements = BENCH / "units_peers" / "requirements.txt"
    stamp = PEERS / "requirements.txt"
    if PEERS_PYTHON.exists() and stamp.exists() and stamp.read_text() == requirements.read_text():
        return
    print(f"creating the peers' environment in {PEERS} ...", file=sys.stderr, flush=True)
    base = getattr(sys, "_base_executable", sys.executable)  # not this venv's
    subprocess.run([base, "-m", "venv", "--clear", str(PEERS)], check=True)
    pip = [str(PEERS_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    shutil.copyfile(requirements, stamp)


def dolmen(kind: str, workload: str, args: argparse.Namespace) -> Figures:
    with tempfile.TemporaryDirectory() as scratch:
        if workload == "throughput":
            run = units_events.throughput(
                kind, "sqlite", args.events, Path(scratch), split=kind != "memory"
            )
        else:
            run = units_events.latency(
                kind, "sqlite", args.rate, args.seconds, Path(scratch), split=kind != "memory"
            )
        return _loop.run(run)


def modupy(workload: str, args: argparse.Namespace) -> Figures:
    url = os.environ.get("DOLMEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    command = [str(PEERS_PYTHON), str(BENCH / "units_peers" / "modupy_units.py"),
               "--redis-url", url, "--workload", workload,
               "--events", str(min(args.events, PEER_EVENTS)), "--rate", str(args.rate),
               "--seconds", str(min(args.seconds, PEER_SECONDS))]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"modupy failed:\n{done.stderr[-3000:]}")
    result = json.loads(lines[-1])
    return {key: value for key, value in result.items() if isinstance(value, (int, float))}


def cases(args: argparse.Namespace) -> list[tuple[str, Callable[[], Figures]]]:
    found: list[tuple[str, Callable[[], Figures]]] = []
    for workload in ("throughput", "latency"):
        for kind in args.transports:
            found.append(
                (f"{workload}|Dolmen, {kind}", lambda k=kind, w=workload: dolmen(k, w, args))
            )
        if not args.no_peers:
            found.append((f"{workload}|modupy, redis", lambda w=workload: modupy(w, args)))
    return found


def median(rows: list[Figures], key: str) -> float:
    return float(statistics.median(row[key] for row in rows))


def report(results: dict[str, list[Figures]]) -> str:
    lines = [
        "| workload | system, transport | median | CPU ms/event |",
        "| --- | --- | ---: | ---: |",
    ]
    for key, rows in results.items():
        if not rows:
            continue
        workload, system = key.split("|")
        if workload == "throughput":
            shown = f"{median(rows, 'events_per_s'):,.0f} events/s"
        else:
            shown = (f"p50 {median(rows, 'p50_ms'):,.2f} ms, p99 {median(rows, 'p99_ms'):,.2f} ms "
                     f"at {median(rows, 'achieved_rate'):,.0f}/s")  # fmt: skip
        lines.append(f"| {workload} | {system} | {shown} | {median(rows, 'cpu_ms_per_event')} |")
    lines += ["", "| workload | Dolmen / modupy (events/s: higher is better; p99 and CPU: lower) |",
              "| --- | --- |"]  # fmt: skip
    for workload, field in (("throughput", "events_per_s"), ("latency", "p99_ms")):
        peer = results.get(f"{workload}|modupy, redis")
        if not peer:
            continue
        for key, rows in results.items():
            if key.startswith(f"{workload}|Dolmen") and rows:
                ratio = median(rows, field) / median(peer, field)
                cpu = median(rows, "cpu_ms_per_event") / median(peer, "cpu_ms_per_event")
                lines.append(f"| {workload}, {key.split('|')[1]} | {ratio:,.2f}x {field}, "
                             f"{cpu:,.3f}x CPU per event |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transports", nargs="+", default=["rabbitmq", "nats", "redis"],
                        choices=["memory", "rabbitmq", "nats", "redis"])  # fmt: skip
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--calls", action="store_true", help="also run bench/units_calls.py")
    args = parser.parse_args()
    if not args.no_peers:
        peers_environment()
    measured = cases(args)
    results: dict[str, list[Figures]] = {key: [] for key, _ in measured}
    for number in range(args.rounds):
        shift = number % len(measured)
        for key, measure in measured[shift:] + measured[:shift]:
            started = time.perf_counter()
            try:
                figures = measure()
            except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as error:
                print(f"round {number + 1}: {key} FAILED: {error}", file=sys.stderr, flush=True)
                continue
            figures["load"] = round(os.getloadavg()[0], 1)
            results[key].append(figures)
            print(f"round {number + 1}: {key}: {figures} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(report(results))
    if args.calls:
        print()
        subprocess.run([sys.executable, str(BENCH / "units_calls.py")], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
