"""Dolmen's HTTP overhead: the shop's product lookup, Dolmen against a bare FastAPI app.

Both apps serve ``GET /catalog/products/{sku}`` from one SQLite file, each in one uvicorn
worker on 127.0.0.1. ``wrk`` loads them in alternating rounds (Dolmen, bare, Dolmen, bare,
...) and the script prints requests/s, p50 and p99 latency per round and their medians, as
a markdown table. On a machine with two cores or more, the servers run on core 0 and wrk on
core 1 (``taskset``).

    .venv/bin/python bench/http_overhead.py [--duration 10] [--rounds 3] [--connections 32]

Needs ``wrk`` (Debian: ``apt-get install wrk``). Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRATCH = BENCH / ".scratch"
EXAMPLES = ROOT / "examples"
HOST = "127.0.0.1"
SKU = "KEYBOARD"
PATH = f"/catalog/products/{SKU}"
MISSING_PATH = "/catalog/products/NO-SUCH-SKU"
EXTRA_PRODUCTS = 1000
SERVER_CPU = "0"
WRK_CPU = "1"
FOREIGN_CPU_WARNING = 0.1  # cores used by other processes that make a round suspect


@dataclass(frozen=True)
class Target:
    """One server under test: a label and the uvicorn app it runs."""

    label: str
    app: str
    app_dir: Path
    env: tuple[tuple[str, str], ...] = ()


POOL = (("BARE_POOL_SIZE", "20"), ("BARE_MAX_OVERFLOW", "20"))
"""Dolmen's SQLite pool (20 + 20 overflow), given to the second bare server."""

TARGETS = (
    Target("dolmen", "shop.app:app", EXAMPLES),
    Target("bare", "_bare_app:app", BENCH),
    Target("bare-pool20", "_bare_app:app", BENCH, POOL),
)


@dataclass(frozen=True)
class Result:
    target: str
    round: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    foreign_cpu: float | None  # CPU used by other processes during the round, in cores


class BenchError(Exception):
    """The benchmark cannot run or its result is not valid."""


# -- set-up ---------------------------------------------------------------------------


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError(
            "wrk is not installed; install it (Debian/Ubuntu: "
            "'apt-get update && apt-get install -y wrk') and run this script again"
        )
    return wrk


def pinning() -> tuple[list[str], list[str]]:
    """The ``taskset`` prefixes for the servers and for wrk (empty when pinning is off)."""
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if shutil.which("taskset") is None or not {0, 1} <= cpus:
        print("note: not pinning to cores (needs taskset and cores 0 and 1)", file=sys.stderr)
        return [], []
    return ["taskset", "-c", SERVER_CPU], ["taskset", "-c", WRK_CPU]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def fresh_database() -> Path:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    database = SCRATCH / "http_overhead.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    return database


def seed(database_url: str) -> None:
    """Start the Dolmen shop once: it creates the tables; add the demo and extra products."""
    os.environ["DOLMEN_DATABASE_URL"] = database_url  # what the servers are given too
    os.environ["DOLMEN__APP__DATABASE_SCHEMA"] = "create"  # the tables, without migrations
    sys.path.insert(0, str(EXAMPLES))
    from decimal import Decimal

    from shop.app import create_app
    from shop.catalog.api import CatalogService, NewProduct
    from shop.seed import seed_products

    async def run() -> None:
        app = create_app()
        async with app.running():
            await seed_products(app)
            async with app.unit_of_work("catalog") as work:
                catalog = await work.get(CatalogService)
                for n in range(EXTRA_PRODUCTS):
                    product = NewProduct(
                        sku=f"BENCH-{n:04d}",
                        name=f"Bench product {n}",
                        price=Decimal(n + 1).scaleb(-2) + 1,
                        stock=n,
                    )
                    await catalog.add_product(product)

    asyncio.run(run())


# -- other processes --------------------------------------------------------------------


def _busy_ticks() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return user + nice + system + irq + softirq + steal


def _process_ticks(pid: int) -> int:
    after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(after_name[11]) + int(after_name[12])  # utime + stime, all threads


class ForeignLoad:
    """Measures the CPU that processes other than ours (servers, wrk) use meanwhile.

    Another job on the machine (a test run, a build) skews the figures; the report
    shows how much CPU others took in each round. None where /proc is not available.
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start: tuple[float, int, int, float] | None = None

    def _sample(self) -> tuple[float, int, int, float]:
        usage = [
            resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        ]
        return (
            time.monotonic(),
            _busy_ticks(),
            sum(_process_ticks(pid) for pid in self.pids),
            sum(u.ru_utime + u.ru_stime for u in usage),
        )

    def begin(self) -> None:
        try:
            self.start = self._sample()
        except (OSError, ValueError, IndexError):
            self.start = None

    def end(self) -> float | None:
        if self.start is None:
            return None
        try:
            now = self._sample()
        except (OSError, ValueError, IndexError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        elapsed = now[0] - self.start[0]
        busy = (now[1] - self.start[1]) / tick
        ours = (now[2] - self.start[2]) / tick + (now[3] - self.start[3])
        return max(0.0, busy - ours) / elapsed if elapsed > 0 else None


# -- servers --------------------------------------------------------------------------


class Server:
    """A uvicorn subprocess serving one target on 127.0.0.1."""

    def __init__(self, target: Target, database_url: str, prefix: list[str]) -> None:
        self.target = target
        self.port = free_port()
        self.log_path = SCRATCH / f"{target.label}.log"
        env = {**os.environ, "DOLMEN_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        env.update(dict(target.env))
        command = [
            *prefix,
            sys.executable,
            "-m",
            "uvicorn",
            target.app,
            "--app-dir",
            str(target.app_dir),
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ]
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"the {self.target.label} server exited with {self.process.returncode}; "
                    f"see {self.log_path}:\n{self.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(OSError):
                status, _, _ = fetch(self.url(PATH))
                if status == 200:
                    return
            time.sleep(0.2)
        raise BenchError(f"the {self.target.label} server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


def fetch(url: str) -> tuple[int, str, bytes]:
    """Status, content type and body of ``GET url`` (errors included)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def check_same_answers(dolmen: Server, bare: Server) -> bytes:
    """Both servers return the same JSON for the product, and 404 for an unknown SKU."""
    answers = {server.target.label: fetch(server.url(PATH)) for server in (dolmen, bare)}
    for label, (status, content_type, body) in answers.items():
        if status != 200 or not content_type.startswith("application/json"):
            raise BenchError(f"{label}: GET {PATH} gave {status} {content_type}: {body!r}")
    dolmen_body, bare_body = answers["dolmen"][2], answers[bare.target.label][2]
    if json.loads(dolmen_body) != json.loads(bare_body) or dolmen_body != bare_body:
        raise BenchError(
            f"the servers disagree on GET {PATH}:\n  dolmen: {dolmen_body!r}\n  bare:   "
            f"{bare_body!r}"
        )
    for server in (dolmen, bare):
        status, _, body = fetch(server.url(MISSING_PATH))
        if status != 404:
            raise BenchError(f"{server.target.label}: GET {MISSING_PATH} gave {status}: {body!r}")
    return dolmen_body


# -- load -----------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _milliseconds(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if match is None:
        raise BenchError(f"cannot read the latency {value!r} in wrk's output")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """Requests/s, p50 ms, p99 ms, requests and errors (socket errors and non-2xx)."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rps and p50 and p99 and total):
        raise BenchError(f"cannot read wrk's output:\n{output}")
    errors = 0
    socket_errors = re.search(r"Socket errors: (.*)$", output, re.MULTILINE)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    return (
        float(rps.group(1)),
        _milliseconds(p50.group(1)),
        _milliseconds(p99.group(1)),
        int(total.group(1)),
        errors,
    )


def run_wrk(
    wrk: str, prefix: list[str], url: str, duration: int, connections: int, threads: int
) -> str:
    if not url.startswith(f"http://{HOST}:"):  # never load anything but this machine
        raise BenchError(f"refusing to load {url}: only {HOST} is a target")
    command = [
        *prefix,
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "5s",
        "--latency",
        url,
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=duration + 30, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {duration + 30} s") from None
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}): {completed.stderr}")
    return completed.stdout


# -- report ---------------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace, body: bytes) -> str:
    lines = [
        f"GET {PATH} -> {body.decode()}",
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds "
        f"each, alternating; Python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"commit {git_revision()}; uvicorn with {server_stack()}",
        f"a round during which other processes used more than {FOREIGN_CPU_WARNING} cores "
        f"is run again, up to {args.retries} times, keeping the quietest attempt",
        "",
        "| round | server | req/s | p50 (ms) | p99 (ms) | requests | errors | other CPU |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r.round} | {r.target} | {r.requests_per_s:,.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.requests:,} | {r.errors} | {_cores(r.foreign_cpu)} |"
        )
    medians = {}
    lines += [
        "",
        "| server | median req/s | median p50 (ms) | median p99 (ms) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for target in TARGETS:
        mine = [r for r in results if r.target == target.label]
        medians[target.label] = statistics.median(r.requests_per_s for r in mine)
        p50 = statistics.median(r.p50_ms for r in mine)
        p99 = statistics.median(r.p99_ms for r in mine)
        lines.append(f"| {target.label} | {medians[target.label]:,.0f} | {p50:.2f} | {p99:.2f} |")
    ratio = medians["dolmen"] / medians["bare"]
    verdict = "met" if ratio >= 0.9 else "NOT met"
    same_pool = medians["dolmen"] / medians["bare-pool20"]
    lines += [
        "",
        f"Dolmen / bare FastAPI, median req/s: **{ratio:.2f}x** (goal >= 0.90x: {verdict})",
        f"Dolmen / bare FastAPI with Dolmen's pool size, median req/s: **{same_pool:.2f}x** "
        f"(goal >= 0.90x: {'met' if same_pool >= 0.9 else 'NOT met'})",
    ]
    busiest = max((r.foreign_cpu or 0.0 for r in results), default=0.0)
    if busiest > FOREIGN_CPU_WARNING:
        lines += [
            "",
            f"WARNING: other processes used up to {busiest:.2f} cores during a round; "
            "the figures are skewed. Run again on a quiet machine.",
        ]
    return "\n".join(lines)


def server_stack() -> str:
    """What uvicorn's ``auto`` picks: uvloop and httptools when installed, else asyncio, h11."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} + {http}"


def git_revision() -> str:
    """The commit measured, ``+dirty`` when the work tree has changes outside bench/."""

    def git(*args: str) -> str:
        command = ["git", *args]
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if status else head


def _cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} cores"


# -- main -----------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per round (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up seconds per server (5)")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="times a round is run again when other processes took CPU meanwhile (2)",
    )
    args = parser.parse_args(argv)
    for name in ("duration", "rounds", "connections", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0 or args.retries < 0:
        parser.error("--warmup and --retries cannot be negative")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


@dataclass(frozen=True)
class Load:
    """How the load is generated: wrk, its ``taskset`` prefix and the command-line options."""

    wrk: str
    prefix: list[str]
    args: argparse.Namespace

    def warm_up(self, server: Server) -> None:
        if self.args.warmup > 0:
            print(f"warming up {server.target.label} ({self.args.warmup} s) ...", file=sys.stderr)
            run_wrk(
                self.wrk, self.prefix, server.url(PATH), self.args.warmup, self.args.connections, 1
            )

    def round(self, server: Server, number: int, others: ForeignLoad) -> Result:
        """One round against ``server``, run again while other processes disturb it."""
        best: Result | None = None
        for attempt in range(self.args.retries + 1):
            again = " (again: other processes were busy)" if attempt else ""
            print(f"round {number}: {server.target.label}{again} ...", file=sys.stderr)
            others.begin()
            output = run_wrk(
                self.wrk,
                self.prefix,
                server.url(PATH),
                self.args.duration,
                self.args.connections,
                self.args.threads,
            )
            foreign = others.end()
            rps, p50, p99, requests, errors = parse_wrk(output)
            if errors:
                raise BenchError(f"{server.target.label}: {errors} failed requests:\n{output}")
            result = Result(server.target.label, number, rps, p50, p99, requests, errors, foreign)
            print(
                f"  {rps:,.0f} req/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                f"other processes: {_cores(foreign)}",
                file=sys.stderr,
            )
            if best is None or (foreign or 0.0) < (best.foreign_cpu or 0.0):
                best = result
            if (foreign or 0.0) <= FOREIGN_CPU_WARNING:
                break
        assert best is not None
        return best


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk = find_wrk()
        server_prefix, wrk_prefix = pinning()
        load = Load(wrk, wrk_prefix, args)
        database = fresh_database()
        database_url = f"sqlite:///{database}"
        print(f"seeding {database} ...", file=sys.stderr)
        seed(database_url)
        servers: list[Server] = []
        try:
            for target in TARGETS:
                servers.append(Server(target, database_url, server_prefix))
            for server in servers:
                server.wait_ready()
            dolmen, bare, bare_pool = servers
            body = check_same_answers(dolmen, bare)
            check_same_answers(dolmen, bare_pool)
            print(f"both answer GET {PATH} with {body.decode()}", file=sys.stderr)
            for server in servers:
                load.warm_up(server)
            others = ForeignLoad([server.process.pid for server in servers])
            results = [
                load.round(server, number, others)
                for number in range(1, args.rounds + 1)
                for server in servers
            ]
            check_same_answers(dolmen, bare)
            check_same_answers(dolmen, bare_pool)
        finally:
            for server in servers:
                server.stop()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(results, args, body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
