"""Measure Celery and Dramatiq on Redis doing the work that Dolmen's durable events are timed on.

bench/events.py runs this script in the peers' own virtual environment, in the same run as
Dolmen's figures, and compares ratios. The peers never go into the project's environment:

    python3 -m venv bench/.scratch/events-peers
    bench/.scratch/events-peers/bin/pip install 'celery[redis]' 'dramatiq[redis]' redis
    bench/.scratch/events-peers/bin/python bench/events_peers.py \\
        --peer celery|dramatiq --workload throughput|latency \\
        [--events 20000] [--batch 100] [--rate 1000] [--seconds 10] [--handler noop]

Progress goes to stderr; the last line of stdout is one JSON object with the figures and the
versions. The broker is the local Redis, redis://127.0.0.1:6379/0, which must be running
(the script prints the command to start it when it is not). Nothing talks to another host.

Workers. The peer's own worker runs as a subprocess in its own process group, from bench/,
with the tasks of bench/_events_peer_tasks.py: ``celery worker`` with the prefork pool and
``--concurrency`` = the number of cores, and ``dramatiq`` with ``--processes`` = the number of
cores and its default 8 threads each (``--workers`` changes both). Celery has no result
backend and acknowledges after the handler ran (``task_acks_late``, at-least-once, as durable
events are; ``--celery-acks early`` gives its default instead); Dramatiq's Redis broker acks
after the handler ran anyway. The rest is the peers' defaults. Before anything is timed, the
queues are purged, the workers started, and warm-up messages sent until every worker process
has handled one (each records its pid) and then a burst of 2,000 no-op messages has been
handled; the queues are purged again. Afterwards the workers get SIGTERM, then SIGKILL after
30 s, as whole process groups, also when the run fails; no wait lasts more than 120 s
(``--timeout``) without failing with a message and the tail of the worker's log
(bench/.scratch/events-peers-logs/).

How completion is seen, and its cost. Each handler is a no-op apart from one Redis command
on a connection of its worker process: ``INCR`` of a per-run counter (throughput) or
``RPUSH`` of its latency (latency). That is one local round trip, some tens of microseconds,
that every peer pays on every message; the JSON reports it as ``counter_roundtrip_us``,
measured from this script before the workers start. In the throughput workload the handler
whose ``INCR`` returns N also pushes to a list the script waits on with ``BLPOP``, so the
end is seen at once and the script does not poll during the run.

CPU. The JSON's ``workers_cpu_cores`` is the CPU, in cores, that the worker processes used
during the timed part, and ``other_cpu_cores`` what processes other than this script, its
workers and Redis used meanwhile (from /proc; null where it is not available). On two cores a
test run alongside skews the figures badly; the script says so on stderr above 0.1 core.

Throughput: N messages (``--events``, default 20,000) are enqueued from one producer in
groups of ``--batch`` (default 100). Celery: ``apply_async`` on one held producer, each group
inside kombu's ``Producer.batch()`` (kombu 5.7 and later on Redis), which sends the group's
LPUSHes as one non-transactional Redis pipeline; where that is missing it falls back to
``apply_async`` in a loop on the same producer, and the JSON's ``enqueue`` says which ran.
Dramatiq: ``actor.send`` in a loop; its RedisBroker has no batch or pipeline enqueue (each
send is one EVALSHA of its dispatch script, and ``group().run()`` sends them one by one too),
so ``--batch`` only splits the loop. The time runs from the first enqueue until the last
message has been handled, producer and workers on the same machine as they would be.

Latency: one message at a time at ``--rate`` per second (default 1,000) for ``--seconds``
(default 10), paced by absolute deadlines (message i is due at start + i / rate, so a late
send does not push the next ones back). Each carries its sequence number and ``time.time()``
taken just before the send; the handler pushes ``time.time() - published`` in ms. Once all
have been handled, the first second (``--warmup-seconds``) is dropped as warm-up and p50,
p99 (nearest rank) and max are computed over the rest; ``p50_ms_each_second`` (the first one
included) shows whether a backlog built up on the way. ``publisher_behind_max_ms`` tells how
far the publisher fell behind its schedule at worst; the latencies run from the actual send,
so a lagging publisher shows there, not in them.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parent
SCRATCH = BENCH / ".scratch"
VENV = SCRATCH / "events-peers"
LOGS = SCRATCH / "events-peers-logs"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)
WARM_BURST = 2000
STOP_GRACE_S = 30.0


class BenchError(Exception):
    pass


def say(message: str) -> None:
    print(f"events_peers: {message}", file=sys.stderr, flush=True)


def require_peers() -> None:
    missing = [m for m in ("celery", "dramatiq", "redis") if importlib.util.find_spec(m) is None]
    if missing:
        rel = VENV.relative_to(BENCH.parent)
        print(
            f"events_peers: {', '.join(missing)} not importable from {sys.executable}.\n"
            "The peers live in their own virtual environment, never the project's. "
            "From the repository root:\n"
            f"    python3 -m venv {rel}\n"
            f"    {rel}/bin/pip install 'celery[redis]' 'dramatiq[redis]' redis\n"
            f"    {rel}/bin/python bench/events_peers.py --peer celery --workload throughput",
            file=sys.stderr,
        )
        sys.exit(2)


def versions(peer: str, client: Any) -> dict[str, str]:
    names = {"celery": ("celery", "kombu", "billiard"), "dramatiq": ("dramatiq",)}[peer]
    found = {name: metadata.version(name) for name in (*names, "redis")}
    found["redis_server"] = str(client.info("server")["redis_version"])
    found["python"] = platform.python_version()
    return found


def _busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int(_stat(int(entry.name))[2]) == pgid:
                    pids.append(int(entry.name))
    return pids


class CpuUse:
    """The CPU, in cores, used during the timed part by the workers, and by processes other
    than this script, its workers and Redis: a test run or a build alongside skews the
    figures. Both None where /proc is not available."""

    def __init__(self, workers: list[int], ours: list[int]) -> None:
        self.workers = workers
        self.ours = ours
        self.start: tuple[float, int, int, int] | None = None
        self.workers_cores: float | None = None
        self.others_cores: float | None = None

    def _sample(self) -> tuple[float, int, int, int]:
        def ticks(pids: list[int]) -> int:
            return sum(int(_stat(pid)[11]) + int(_stat(pid)[12]) for pid in pids)

        return time.monotonic(), _busy_ticks(), ticks(self.workers), ticks(self.ours)

    def __enter__(self) -> CpuUse:
        try:
            self.start = self._sample()
        except (OSError, ValueError, IndexError):
            self.start = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.start is None or exc[0] is not None:
            return
        try:
            now = self._sample()
        except (OSError, ValueError, IndexError):
            return
        busy, workers, ours = (now[i] - self.start[i] for i in (1, 2, 3))
        seconds = (now[0] - self.start[0]) * os.sysconf("SC_CLK_TCK")
        if seconds > 0:
            self.workers_cores = round(workers / seconds, 2)
            self.others_cores = round(max(0, busy - workers - ours) / seconds, 2)


class Workers:
    """The peer's worker, a subprocess in its own process group."""

    def __init__(self, peer: str, count: int, log_path: Path, celery_acks: str) -> None:
        self.peer = peer
        self.count = count
        self.log_path = log_path
        self.celery_acks = celery_acks
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.peer == "celery":
            return [
                sys.executable, "-m", "celery", "-A", "_events_peer_tasks:celery_app", "worker",
                "--pool", "prefork", "--concurrency", str(self.count), "--loglevel", "warning",
                "--hostname", f"bench-events-{os.getpid()}@%h",
            ]  # fmt: skip
        return [
            sys.executable, "-m", "dramatiq", "_events_peer_tasks",
            "--processes", str(self.count), "--path", str(BENCH),
        ]  # fmt: skip

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, EVENTS_PEERS_CELERY_ACKS=self.celery_acks)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH")]))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=BENCH,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        say(f"started the {self.peer} worker (pid {self.proc.pid}), log in {self.log_path}")

    def pids(self) -> list[int]:
        return _group(self.proc.pid) if self.proc is not None else []

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:]) or "(empty log)"

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise BenchError(
                f"the {self.peer} worker exited with code {self.proc.returncode}; "
                f"the end of {self.log_path}:\n{self.log_tail()}"
            )

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the worker leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            say(f"the {self.peer} worker did not stop within {STOP_GRACE_S:.0f} s; killing it")
        # Kill whatever of the group is left (pool children), then reap the leader.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.proc.wait(timeout=STOP_GRACE_S)
        self.proc = None


class CeleryPeer:
    name = "celery"

    def __init__(self, tasks: ModuleType, client: Any) -> None:
        self.tasks = tasks
        self.app = tasks.celery_app
        self.client = client

    def purge(self) -> None:
        self.app.control.purge()
        self.client.delete(*self.tasks.CELERY_UNACKED_KEYS.values())

    def send_warm(self, key: str, count: int) -> None:
        with self.app.producer_or_acquire() as producer:
            for _ in range(count):
                self.tasks.celery_warm.apply_async((key,), producer=producer)

    def enqueue_noop(self, key: str, total: int, batch: int) -> str:
        task = self.tasks.celery_noop
        with self.app.producer_or_acquire() as producer:
            pipelined = hasattr(producer, "batch") and bool(
                getattr(producer.channel, "supports_batch_publish", False)
            )
            for first in range(0, total, batch):
                size = min(batch, total - first)
                group = producer.batch(max_size=size) if pipelined else contextlib.nullcontext()
                with group:
                    for _ in range(size):
                        task.apply_async((key, total), producer=producer)
        if pipelined:
            return f"apply_async on one producer, groups of {batch} in kombu Producer.batch()"
        return "apply_async in a loop on one producer (no kombu Producer.batch())"

    @contextlib.contextmanager
    def publisher(self) -> Iterator[Callable[[str, int], object]]:
        task = self.tasks.celery_stamp
        with self.app.producer_or_acquire() as producer:
            yield lambda key, seq: task.apply_async((key, seq, time.time()), producer=producer)


class DramatiqPeer:
    name = "dramatiq"

    def __init__(self, tasks: ModuleType, client: Any) -> None:
        self.tasks = tasks
        self.client = client

    def purge(self) -> None:
        self.tasks.dramatiq_broker.flush_all()

    def send_warm(self, key: str, count: int) -> None:
        for _ in range(count):
            self.tasks.dramatiq_warm.send(key)

    def enqueue_noop(self, key: str, total: int, batch: int) -> str:
        actor = self.tasks.dramatiq_noop
        for first in range(0, total, batch):
            for _ in range(min(batch, total - first)):
                actor.send(key, total)
        return "actor.send in a loop (RedisBroker has no pipelined enqueue)"

    @contextlib.contextmanager
    def publisher(self) -> Iterator[Callable[[str, int], object]]:
        actor = self.tasks.dramatiq_stamp
        yield lambda key, seq: actor.send(key, seq, time.time())


Peer = CeleryPeer | DramatiqPeer


class Run:
    def __init__(self, peer: Peer, workers: Workers, client: Any, timeout: float) -> None:
        self.peer = peer
        self.workers = workers
        self.client = client
        self.timeout = timeout
        self.prefix = f"dolmen-bench:events-peers:{os.getpid()}:"
        self.keys: list[str] = []

    def key(self, name: str) -> str:
        key = self.prefix + name
        self.keys += [key, key + ":all"]
        self.client.delete(key, key + ":all")
        return key

    def deadline_passed(self, deadline: float, what: str) -> None:
        self.workers.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(
                f"{what} not done within {self.timeout:.0f} s; the end of "
                f"{self.workers.log_path}:\n{self.workers.log_tail()}"
            )

    def wait_all_handled(self, key: str, total: int) -> None:
        deadline = time.monotonic() + self.timeout
        while not self.client.blpop([key + ":all"], timeout=1):
            done = int(self.client.get(key) or 0)
            self.deadline_passed(deadline, f"handling {total} messages ({done} handled)")

    def warm_up(self) -> None:
        key = self.key("warm")
        deadline = time.monotonic() + self.timeout
        while (seen := self.client.scard(key)) < self.workers.count:
            self.deadline_passed(
                deadline, f"warm-up ({seen} of {self.workers.count} worker processes answered)"
            )
            self.peer.send_warm(key, 4 * self.workers.count)
            time.sleep(0.25)
        say(f"all {self.workers.count} worker processes answered; a burst of {WARM_BURST}")
        burst = self.key("warm-burst")
        self.peer.enqueue_noop(burst, WARM_BURST, 100)
        self.wait_all_handled(burst, WARM_BURST)

    def throughput(self, events: int, batch: int) -> dict[str, Any]:
        key = self.key("done")
        say(f"throughput: {events} messages in groups of {batch}")
        started = time.perf_counter()
        how = self.peer.enqueue_noop(key, events, batch)
        enqueued = time.perf_counter()
        self.wait_all_handled(key, events)
        seconds = time.perf_counter() - started
        handled = int(self.client.get(key) or 0)
        if handled != events:
            raise BenchError(f"{handled} messages handled for {events} sent")
        return {
            "events": events,
            "seconds": round(seconds, 3),
            "events_per_s": round(events / seconds),
            "batch": batch,
            "enqueue_seconds": round(enqueued - started, 3),
            "enqueue": how,
        }

    def latency(self, rate: float, seconds: float, warmup_seconds: float) -> dict[str, Any]:
        key = self.key("latency")
        total = round(rate * seconds)
        skip = round(rate * warmup_seconds)
        if total <= skip:
            raise BenchError("--seconds must be longer than --warmup-seconds")
        say(f"latency: {total} messages at {rate:g}/s, the first {skip} dropped")
        interval = 1.0 / rate
        behind = 0.0
        with self.peer.publisher() as send:
            start = time.perf_counter() + 0.01
            for seq in range(total):
                wait = start + seq * interval - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                else:
                    behind = max(behind, -wait)
                send(key, seq)
            published_for = time.perf_counter() - start
        deadline = time.monotonic() + self.timeout
        while (done := self.client.llen(key)) < total:
            self.deadline_passed(deadline, f"handling {total} messages ({done} handled)")
            time.sleep(0.05)
        per_second: dict[int, list[float]] = {}
        samples: list[float] = []
        for item in self.client.lrange(key, 0, -1):
            seq_text, ms_text = item.split()
            seq, ms = int(seq_text), float(ms_text)
            per_second.setdefault(int(seq // rate), []).append(ms)
            if seq >= skip:
                samples.append(ms)
        samples.sort()

        def rank(q: float) -> float:
            return round(samples[max(0, math.ceil(q * len(samples)) - 1)], 2)

        return {
            "rate": int(rate) if rate.is_integer() else rate,
            "seconds": int(seconds) if seconds.is_integer() else seconds,
            "sent": total,
            "measured": len(samples),
            "p50_ms": rank(0.50),
            "p99_ms": rank(0.99),
            "max_ms": round(samples[-1], 2),
            "mean_ms": round(sum(samples) / len(samples), 2),
            "publisher_behind_max_ms": round(behind * 1000, 2),
            "achieved_rate": round(total / published_for),
            "p50_ms_each_second": [
                round(statistics.median(per_second[i]), 2) for i in sorted(per_second)
            ],
        }

    def cleanup(self) -> None:
        if self.keys:
            self.client.delete(*self.keys)


def roundtrip_us(client: Any, key: str, count: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(count):
        client.incr(key)
    elapsed = time.perf_counter() - started
    client.delete(key)
    return round(elapsed / count * 1e6, 1)


def parse_args() -> argparse.Namespace:
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=("celery", "dramatiq"), required=True)
    parser.add_argument("--workload", choices=("throughput", "latency"), required=True)
    parser.add_argument("--events", type=int, default=20_000, help="throughput: messages")
    parser.add_argument("--batch", type=int, default=100, help="throughput: group size")
    parser.add_argument("--rate", type=float, default=1000.0, help="latency: messages per s")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: how long")
    parser.add_argument("--warmup-seconds", type=float, default=1.0, help="latency: dropped")
    parser.add_argument("--handler", choices=("noop",), default="noop")
    parser.add_argument("--workers", type=int, default=cores, help=f"default: cores ({cores})")
    parser.add_argument("--celery-acks", choices=("late", "early"), default="late")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait, in s")
    args = parser.parse_args()
    if min(args.events, args.batch, args.workers) < 1 or args.rate <= 0 or args.timeout <= 0:
        parser.error("--events, --batch, --workers, --rate and --timeout must be positive")
    return args


def main() -> int:
    args = parse_args()
    require_peers()
    import redis

    client = redis.Redis(
        host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2, socket_timeout=30
    )
    try:
        client.ping()
    except redis.RedisError as error:
        print(
            f"events_peers: no Redis at {REDIS_HOST}:{REDIS_PORT} ({error}). Start one with:\n"
            f"    {REDIS_START}",
            file=sys.stderr,
        )
        return 2

    import _events_peer_tasks as tasks

    peer: Peer = (CeleryPeer if args.peer == "celery" else DramatiqPeer)(tasks, client)
    log_path = LOGS / f"{args.peer}-{args.workload}.log"
    workers = Workers(args.peer, args.workers, log_path, args.celery_acks)
    run = Run(peer, workers, client, args.timeout)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `finally` runs
    result: dict[str, Any] = {"peer": args.peer, "workload": args.workload}
    try:
        peer.purge()
        cost = roundtrip_us(client, run.prefix + "roundtrip")
        workers.start()
        run.warm_up()
        peer.purge()
        redis_pid = int(client.info("server")["process_id"])
        with CpuUse(workers.pids(), [os.getpid(), redis_pid]) as cpu:
            if args.workload == "throughput":
                result |= run.throughput(args.events, args.batch)
            else:
                result |= run.latency(args.rate, args.seconds, args.warmup_seconds)
        if cpu.others_cores is not None and cpu.others_cores > 0.1:
            say(f"other processes used {cpu.others_cores} core meanwhile: figures skewed")
        result |= {
            "handler": args.handler,
            "workers": args.workers,
            "counter_roundtrip_us": cost,
            "workers_cpu_cores": cpu.workers_cores,
            "other_cpu_cores": cpu.others_cores,
            "versions": versions(args.peer, client),
        }
        if args.peer == "celery":
            result["celery_acks"] = args.celery_acks
    except BenchError as error:
        say(str(error))
        return 1
    finally:
        workers.stop()
        peer.purge()
        run.cleanup()
    say(" ".join(f"{k}={v}" for k, v in result.items() if k != "versions"))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
