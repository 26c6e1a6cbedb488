"""Durable events: Dolmen's outbox against its peers, in the same run and on the same databases.

    .venv/bin/python bench/events.py [--rounds 3] [--events 20000] [--seconds 10]
        [--rate 1000] [--workloads throughput latency] [--handlers noop insert]
        [--backends sqlite postgres]
        [--peers pgqueuer procrastinate modupy celery dramatiq] [--no-peers]

Workloads, each timed ``--rounds`` times in alternating order, medians reported:

- throughput, no-op handler: ``--events`` events published 100 per committed transaction by
  one publisher process, handled by a handler that does nothing; from the first publish until
  the last one is handled. The same with a handler that inserts one row (Dolmen: in its own
  unit of work, committed with the delivery's completion; the peers: in a transaction of
  its own, as each one's documentation shows). For Dolmen also its worker's CPU time per
  event (less noisy than a rate on a busy machine).
- latency: one event per committed transaction at a steady ``--rate`` (1,000) per second for
  ``--seconds``; the time from just before the publisher's commit until the handler runs,
  p50 and p99, the first second dropped. For Dolmen also the CPU time per event of its
  publisher and of its worker process (less noisy than latency on a busy machine).

Dolmen runs one publisher process (its app without a dispatcher) and one worker process (its
app with the dispatcher) on SQLite (a file, WAL, ``synchronous=NORMAL``) and on PostgreSQL
(``DOLMEN_TEST_POSTGRES_URL``, or postgresql://postgres@127.0.0.1:5432/postgres, a fresh
database per measurement). The peers run in their own virtual environment
(bench/.scratch/events-peers, from bench/events_peers/requirements.txt, created on the first
run and again when the requirements change), each on a fresh database of the same server (or
SQLite file) with its own schema, its own worker and its own acknowledgement: PgQueuer and
procrastinate on PostgreSQL (bench/events_peers/run_peer.py), modupy's outbox on both, Celery
and Dramatiq on the local Redis (bench/events_peers.py). The slow peers get fewer events
(``PEER_EVENTS``): a rate is a rate. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRATCH = BENCH / ".scratch" / "events"
PEERS_PYTHON = BENCH / ".scratch" / "events-peers" / "bin" / "python"
PYTHON = sys.executable
WORKER_READY_TIMEOUT = 60
SQL_PEERS = {"pgqueuer": ("postgres",), "procrastinate": ("postgres",),
             "modupy": ("sqlite", "postgres")}  # fmt: skip
REDIS_PEERS = ("celery", "dramatiq")
NAMES = {"pgqueuer": "PgQueuer", "procrastinate": "procrastinate", "modupy": "modupy",
         "celery": "Celery", "dramatiq": "Dramatiq"}  # fmt: skip
# Events per throughput run, and seconds of the latency run, for the peers that handle a few
# hundred events a second at most (a full run of 20,000 would take minutes a round).
PEER_EVENTS = {"procrastinate": 2000, "modupy": 2000}
PEER_SECONDS = {"procrastinate": 3.0, "modupy": 3.0}
# Settings that a pilot on this machine found faster than the peer's default (docs/benchmarks.md).
PEER_OPTIONS = {
    ("pgqueuer", "noop"): {"batch_size": 100}, ("pgqueuer", "insert"): {"batch_size": 100},
    ("procrastinate", "noop"): {"concurrency": 1}, ("procrastinate", "insert"): {"concurrency": 8},
}  # fmt: skip


def peers_environment() -> None:
    """Create the peers' virtual environment (bench/.scratch/events-peers) when missing."""
    requirements = BENCH / "events_peers" / "requirements.txt"
    stamp = PEERS_PYTHON.parent.parent / "requirements.txt"
    if PEERS_PYTHON.exists() and stamp.exists() and stamp.read_text() == requirements.read_text():
        return
    print(f"creating the peers' environment in {PEERS_PYTHON.parent.parent} ...",
          file=sys.stderr, flush=True)  # fmt: skip
    base = getattr(sys, "_base_executable", PYTHON)  # not this venv's: a venv of its own
    subprocess.run([base, "-m", "venv", "--clear", str(PEERS_PYTHON.parent.parent)], check=True)
    pip = [str(PEERS_PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True)
    shutil.copyfile(requirements, stamp)  # installed: recreated when the requirements change


def run_json(command: list[str], timeout: float = 900) -> dict[str, object]:
    """Run ``command``; the last line of its output is a JSON object."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(lines[-1])
    return result


class Database:
    """A fresh database for one measurement: a SQLite file, or a new PostgreSQL database."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = f"dolmen_bench_{uuid.uuid4().hex[:10]}"
        SCRATCH.mkdir(parents=True, exist_ok=True)  # the latencies go there too
        if backend == "sqlite":
            self.url = f"sqlite:///{SCRATCH / (self.name + '.db')}"
        else:
            base = os.environ.get(
                "DOLMEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
            )
            self.admin = base
            self.url = base.rsplit("/", 1)[0] + "/" + self.name
            self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, statement: str) -> None:
        code = (
            "import asyncio, asyncpg, sys\n"
            "async def main():\n"
            "    c = await asyncpg.connect(sys.argv[1])\n"
            "    await c.execute(sys.argv[2])\n"
            "    await c.close()\n"
            "asyncio.run(main())\n"
        )
        subprocess.run([PYTHON, "-c", code, self.admin, statement], check=True, timeout=60)

    def drop(self) -> None:
        if self.backend == "sqlite":
            path = self.url.removeprefix("sqlite:///")
            for suffix in ("", "-wal", "-shm", "-writer.lock"):
                Path(path + suffix).unlink(missing_ok=True)
            shutil.rmtree(path + "-wake", ignore_errors=True)
        else:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used so far (user and system), from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dolmen(
    backend: str, workload: str, handler: str, args: argparse.Namespace
) -> dict[str, object]:
    """One Dolmen measurement: a worker process, a publisher process, a fresh database."""
    database = Database(backend)
    script = str(BENCH / "_events_dolmen.py")
    latencies = SCRATCH / f"{database.name}-latencies.json"
    worker = None
    try:
        run_json([PYTHON, script, "publish", "--database-url", database.url, "--events", "0"])
        worker = subprocess.Popen(
            [PYTHON, script, "worker", "--database-url", database.url, "--handler", handler,
             "--latencies", str(latencies)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True,
        )  # fmt: skip
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise RuntimeError("the Dolmen worker did not start")
        warm = [PYTHON, script, "publish", "--database-url", database.url, "--events", "2000"]
        run_json(warm)
        if workload == "throughput":
            cpu_before = cpu_seconds(worker.pid)
            result = run_json(
                [PYTHON, script, "publish", "--database-url", database.url,
                 "--events", str(args.events), "--batch", "100"]
            )  # fmt: skip
            worker_cpu = round((cpu_seconds(worker.pid) - cpu_before) * 1000 / args.events, 3)
            return {"events_per_s": result["events_per_s"], "seconds": result["seconds"],
                    "worker_cpu_ms_per_event": worker_cpu}  # fmt: skip
        cpu_before = cpu_seconds(worker.pid)
        result = run_json(
            [PYTHON, script, "steady", "--database-url", database.url, "--rate", str(args.rate),
             "--seconds", str(args.seconds)]
        )  # fmt: skip
        worker_cpu = cpu_seconds(worker.pid) - cpu_before
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        values = sorted(
            json.loads(latencies.read_text())[2000 + int(args.rate) :]
        )  # warm-up, 1st s
        return {
            "p50_ms": round(statistics.median(values) * 1000, 2),
            "p99_ms": round(values[max(int(len(values) * 0.99) - 1, 0)] * 1000, 2),
            "publisher_lag_s": result["publisher_lag_s"],
            "achieved_rate": achieved(args.rate * args.seconds, args.seconds, result),
            "publisher_cpu_ms_per_event": result["cpu_ms_per_event"],
            "worker_cpu_ms_per_event": round(worker_cpu * 1000 / float(str(result["sent"])), 3),
        }
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        latencies.unlink(missing_ok=True)
        database.drop()


def sql_peer(
    name: str, backend: str, workload: str, handler: str, args: argparse.Namespace
) -> dict[str, object]:
    """One measurement of a database-backed peer on a fresh database of its own."""
    database = Database(backend)
    events = min(args.events, PEER_EVENTS.get(name, args.events))
    seconds = min(args.seconds, PEER_SECONDS.get(name, args.seconds))
    options = json.dumps(PEER_OPTIONS.get((name, handler), {}))
    try:
        result = run_json(
            [str(PEERS_PYTHON), str(BENCH / "events_peers" / "run_peer.py"), "--peer", name,
             "--database-url", database.url, "--workload", workload, "--handler", handler,
             "--events", str(events), "--batch", "100", "--rate", str(args.rate),
             "--seconds", str(seconds), "--options", options,
             "--warm-up", str(min(2000, events // 6))]
        )  # fmt: skip
    finally:
        database.drop()
    keep = ("events", "events_per_s", "seconds", "p50_ms", "p99_ms", "sent", "publisher_lag_s")
    figures = {key: result[key] for key in keep if key in result}
    if workload == "latency":
        figures["achieved_rate"] = achieved(float(str(result["sent"])), seconds, result)
    return figures | {"versions": result["versions"]}


def achieved(sent: float, seconds: float, result: dict[str, object]) -> int:
    """The rate the publisher held: it sends at ``--rate`` unless it falls behind."""
    return round(sent / (seconds + float(str(result["publisher_lag_s"]))))


def peer(name: str, workload: str, args: argparse.Namespace) -> dict[str, object]:
    command = [str(PEERS_PYTHON), str(BENCH / "events_peers.py"), "--peer", name,
               "--workload", workload]  # fmt: skip
    if workload == "throughput":
        command += ["--events", str(args.events), "--batch", "100"]
    else:
        command += ["--rate", str(args.rate), "--seconds", str(args.seconds)]
    result = run_json(command)
    if workload == "throughput":
        return {"events_per_s": result["events_per_s"], "seconds": result["seconds"]}
    keep = ("p50_ms", "p99_ms", "achieved_rate")
    return {key: result[key] for key in keep}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="of the latency workload")
    parser.add_argument(
        "--workloads", nargs="+", choices=["throughput", "latency"],
        default=["throughput", "latency"],
    )  # fmt: skip
    parser.add_argument(
        "--handlers", nargs="+", choices=["noop", "insert"], default=["noop", "insert"],
        help="of the throughput workload (the latency workload's handler is the no-op one)",
    )  # fmt: skip
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--peers", nargs="+", choices=[*SQL_PEERS, *REDIS_PEERS],
                        default=[*SQL_PEERS, *REDIS_PEERS])  # fmt: skip
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    if not args.no_peers:
        peers_environment()
    cases: list[tuple[str, Callable[[], dict[str, object]]]] = []
    for backend in args.backends:
        for workload, handler in (("throughput", "noop"), ("throughput", "insert"),
                                  ("latency", "noop")):  # fmt: skip
            if workload not in args.workloads or (
                workload == "throughput" and handler not in args.handlers
            ):
                continue
            measure = functools.partial(dolmen, backend, workload, handler, args)
            cases.append((f"{workload}|{handler}|{backend}|Dolmen", measure))
            for name in [] if args.no_peers else [p for p in args.peers if p in SQL_PEERS]:
                if backend in SQL_PEERS[name]:
                    measure = functools.partial(sql_peer, name, backend, workload, handler, args)
                    cases.append((f"{workload}|{handler}|{backend}|{NAMES[name]}", measure))
    for name in [] if args.no_peers else [p for p in args.peers if p in REDIS_PEERS]:
        for workload in args.workloads:
            measure = functools.partial(peer, name, workload, args)
            cases.append((f"{workload}|noop|redis|{NAMES[name]}", measure))
    results: dict[str, list[dict[str, object]]] = {key: [] for key, _ in cases}
    for number in range(args.rounds):
        shift = number % len(cases)
        for key, measure in cases[shift:] + cases[:shift]:
            started = time.perf_counter()
            try:
                figures = measure()
            except (RuntimeError, subprocess.TimeoutExpired) as error:  # the others go on
                print(f"round {number + 1}: {key} FAILED: {error}", file=sys.stderr, flush=True)
                continue
            results[key].append(figures)
            figures["load"] = round(os.getloadavg()[0], 1)  # how busy the machine was
            print(f"round {number + 1}: {key}: {figures} ({time.perf_counter() - started:.0f} s)",
                  file=sys.stderr, flush=True)  # fmt: skip
    print(report(results))
    out = SCRATCH / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nraw figures: {out}")


def median(rows: list[dict[str, object]], key: str) -> float:
    return float(statistics.median(float(row[key]) for row in rows))  # type: ignore[arg-type]


def report(results: dict[str, list[dict[str, object]]]) -> str:
    lines = ["| workload | handler | database | system | median (latency: at the rate the "
             "publisher held) | min-max |",
             "| --- | --- | --- | --- | ---: | ---: |"]  # fmt: skip
    results = {key: rows for key, rows in results.items() if rows}
    for key, rows in results.items():
        workload, handler, backend, system = key.split("|")
        field = "events_per_s" if workload == "throughput" else "p99_ms"
        values = [float(row[field]) for row in rows]  # type: ignore[arg-type]
        if field == "events_per_s":
            shown = f"{median(rows, field):,.0f} events/s"
            spread = f"{min(values):,.0f}-{max(values):,.0f}"
        else:
            shown = (f"p50 {median(rows, 'p50_ms'):,.2f} ms, p99 {median(rows, 'p99_ms'):,.2f} ms"
                     f" at {median(rows, 'achieved_rate'):,.0f}/s")  # fmt: skip
            spread = f"{min(values):,.2f}-{max(values):,.2f}"
        lines.append(f"| {workload} | {handler} | {backend} | {system} | {shown} | {spread} |")
    lines += ["", "| workload | handler | database | Dolmen / peer (throughput: higher is "
              "better; p99: lower is better) |", "| --- | --- | --- | --- |"]  # fmt: skip
    for key, rows in results.items():
        workload, handler, backend, system = key.split("|")
        if system != "Dolmen":
            continue
        field = "events_per_s" if workload == "throughput" else "p99_ms"
        ratios = []
        for other, peer_rows in results.items():
            o_workload, o_handler, o_backend, o_system = other.split("|")
            if (o_system != "Dolmen" and (o_workload, o_handler) == (workload, handler)
                    and o_backend in (backend, "redis")):  # fmt: skip
                ratio = median(rows, field) / median(peer_rows, field)
                ratios.append(
                    f"{ratio:,.2f}x {o_system}" + (", Redis" if o_backend == "redis" else "")
                )
        if ratios:
            lines.append(f"| {workload} | {handler} | {backend} | {'; '.join(ratios)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
