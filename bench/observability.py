"""What observability costs a request: Dolmen off and fully on, against bare FastAPI and DIY.

One command, from a fresh clone (after ``./scripts/test`` or ``. scripts/_venv.sh "[dev]"``
made .venv; needs ``wrk``: ``apt-get update && apt-get install -y wrk``):

    .venv/bin/python bench/observability.py [--duration 10] [--rounds 3] [--connections 32]

Two scenarios, each loaded by ``wrk`` in alternating rounds (every server once per round),
medians over the rounds:

- (a) ``GET /quotes/{sku}``: a module route that makes one cross-module call and touches no
  database (bench/observability_peers/quotes.py);
- (b) the shop's ``GET /catalog/products/{sku}`` (SQLite).

Servers, each one uvicorn worker pinned to core 0 (``taskset``), wrk on core 1:

- ``bare``: FastAPI, an async ``Depends`` providing the same service (observability_peers/bare.py,
  whose product lookup is bench/_bare_app.py, with Dolmen's SQLite pool size);
- ``dolmen-off``: Dolmen with ``[observability] enabled = false``;
- ``dolmen-on``: Dolmen with everything on: JSON lines to a file (the access log among them),
  metrics, and traces sampled at 100% into the dashboard's buffer when this Dolmen has traces
  (the output says when it has not);
- ``diy``: bare FastAPI with the usual do-it-yourself stack: opentelemetry-instrumentation-fastapi,
  prometheus-fastapi-instrumentator and a structlog access-log middleware
  (observability_peers/diy.py), in a virtual environment of its own that this script creates
  in bench/.scratch/observability-peers from observability_peers/requirements.txt.

It prints requests/s and p99 per round and their medians, the ratios to bare FastAPI and to the
DIY stack, and whether issue 16's goals on (a) are met. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from http_overhead import (
    FOREIGN_CPU_WARNING,
    HOST,
    SCRATCH,
    BenchError,
    ForeignLoad,
    fetch,
    find_wrk,
    free_port,
    fresh_database,
    git_revision,
    parse_wrk,
    pinning,
    run_wrk,
    seed,
    server_stack,
)
from observability_micro import tracing_settings

POOL = (("BARE_POOL_SIZE", "20"), ("BARE_MAX_OVERFLOW", "20"))
"""Dolmen's SQLite pool (20 + 20 overflow) for the FastAPI servers: only the framework differs."""

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
EXAMPLES = ROOT / "examples"
PEERS = BENCH / "observability_peers"
PEERS_VENV = SCRATCH / "observability-peers"
REQUIREMENTS = PEERS / "requirements.txt"

SCENARIOS = {
    "a": ("/quotes/LAMP", "a module route with one cross-module call, no database"),
    "b": ("/catalog/products/KEYBOARD", "the shop's product lookup (SQLite)"),
}
SERVERS = ("bare", "dolmen-off", "dolmen-on", "diy")


@dataclass(frozen=True)
class Target:
    """One uvicorn server: what it runs, with which Python, and its environment."""

    label: str
    app: str
    app_dir: Path
    python: str
    env: tuple[tuple[str, str], ...] = ()


def observability_env(*, on: bool) -> tuple[tuple[str, str], ...]:
    """The settings of Dolmen off, or fully on (JSON lines, metrics, traces at 100%)."""
    if not on:
        return (("DOLMEN__OBSERVABILITY__ENABLED", "false"),)
    env = [
        ("DOLMEN__OBSERVABILITY__ENABLED", "true"),
        ("DOLMEN__OBSERVABILITY__LOG_FORMAT", "json"),
        ("DOLMEN__OBSERVABILITY__ACCESS_LOG", "true"),
        ("DOLMEN__OBSERVABILITY__METRICS", "true"),
    ]
    for name, value in tracing_settings().items():
        text = "true" if value is True else str(value)
        env.append((f"DOLMEN__OBSERVABILITY__{name.upper()}", text))
    return tuple(env)


def targets(scenario: str, peers_python: str) -> list[Target]:
    """The four servers of a scenario."""
    python = sys.executable
    quotes = SCRATCH / "observability-quotes.db"
    if scenario == "a":
        dolmen_app, dolmen_dir = "observability_peers.quotes:app", BENCH
        database = (("DOLMEN_DATABASE_URL", f"sqlite:///{quotes}"),)
    else:
        dolmen_app, dolmen_dir = "shop.app:app", EXAMPLES
        database = ()
    return [
        Target("bare", "observability_peers.bare:app", BENCH, python, POOL),
        Target(
            "dolmen-off", dolmen_app, dolmen_dir, python, (*database, *observability_env(on=False))
        ),
        Target(
            "dolmen-on", dolmen_app, dolmen_dir, python, (*database, *observability_env(on=True))
        ),
        Target(
            "diy",
            "observability_peers.diy:app",
            BENCH,
            peers_python,
            (*POOL, ("DIY_ACCESS_LOG", str(SCRATCH / "observability-diy-access.log"))),
        ),
    ]


def peers_python() -> str:
    """The Python of the DIY stack's virtual environment, made (or brought up to date) first."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / "requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"creating {PEERS_VENV} for the DIY stack (once) ...", file=sys.stderr)
    base = getattr(sys, "_base_executable", sys.executable)
    for command in (
        [base, "-m", "venv", "--clear", str(PEERS_VENV)],
        [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
    ):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    stamp.write_text(wanted)
    return str(python)


class Server:
    """A uvicorn subprocess serving one target on 127.0.0.1."""

    def __init__(self, target: Target, database_url: str, prefix: list[str]) -> None:
        self.target = target
        self.port = free_port()
        self.log_path = SCRATCH / f"observability-{target.label}-{self.port}.log"
        env = {**os.environ, "DOLMEN_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"}
        env.update(dict(target.env))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        command = [*prefix, target.python, "-m", "uvicorn", target.app,
                   "--app-dir", str(target.app_dir), "--host", HOST, "--port", str(self.port),
                   "--workers", "1", "--log-level", "warning", "--no-access-log"]  # fmt: skip
        self._log = self.log_path.open("wb")  # the JSON lines of dolmen-on go here
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT
        )

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"the {self.target.label} server exited with {self.process.returncode}; "
                    f"see {self.log_path}:\n{self.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(OSError):
                if fetch(self.url(path))[0] == 200:
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


@dataclass(frozen=True)
class Result:
    scenario: str
    server: str
    round: int
    requests_per_s: float
    p99_ms: float
    foreign_cpu: float | None


def same_answers(servers: list[Server], path: str) -> str:
    """Every server answers ``path`` with 200 and the same JSON; that JSON."""
    bodies = {}
    for server in servers:
        status, content_type, body = fetch(server.url(path))
        if status != 200 or not content_type.startswith("application/json"):
            raise BenchError(f"{server.target.label}: GET {path} gave {status}: {body!r}")
        bodies[server.target.label] = json.loads(body)
    if len({json.dumps(b, sort_keys=True) for b in bodies.values()}) != 1:
        raise BenchError(f"the servers disagree on GET {path}: {bodies}")
    return json.dumps(bodies["bare"])


def run_scenario(
    scenario: str, servers: list[Server], args: argparse.Namespace, wrk: str, prefix: list[str]
) -> list[Result]:
    path = SCENARIOS[scenario][0]
    for server in servers:
        if args.warmup:
            print(f"({scenario}) warming up {server.target.label} ...", file=sys.stderr)
            run_wrk(wrk, prefix, server.url(path), args.warmup, args.connections, 1)
    others = ForeignLoad([server.process.pid for server in servers])
    results = []
    for number in range(1, args.rounds + 1):
        for server in servers:
            others.begin()
            output = run_wrk(
                wrk, prefix, server.url(path), args.duration, args.connections, args.threads
            )
            foreign = others.end()
            rps, _p50, p99, _requests, errors = parse_wrk(output)
            if errors:
                raise BenchError(f"{server.target.label}: {errors} failed requests:\n{output}")
            print(
                f"({scenario}) round {number}: {server.target.label} {rps:,.0f} req/s, "
                f"p99 {p99:.2f} ms, other processes {foreign or 0:.2f} cores",
                file=sys.stderr,
            )
            results.append(Result(scenario, server.target.label, number, rps, p99, foreign))
    return results


def report(results: list[Result], args: argparse.Namespace, answers: dict[str, str]) -> str:
    tracing = tracing_settings()
    lines = [
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.rounds} rounds, "
        f"alternating; Python {platform.python_version()}, nproc {os.cpu_count()}, commit "
        f"{git_revision()}; uvicorn with {server_stack()}, one worker",
        "dolmen-on: JSON lines to a file, metrics, "
        + (
            f"traces at 100% ({', '.join(f'{k}={v}' for k, v in tracing.items())})"
            if tracing
            else "NO traces: tracing is unavailable in this Dolmen"
        ),
        "",
    ]
    medians: dict[tuple[str, str], tuple[float, float]] = {}
    for scenario, (path, what) in SCENARIOS.items():
        if scenario not in answers:
            continue
        lines += [
            f"({scenario}) GET {path}: {what} -> {answers[scenario]}",
            "",
            "| server | median req/s | median p99 (ms) | / bare | / diy | rounds (req/s) |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for server in SERVERS:
            mine = [r for r in results if r.scenario == scenario and r.server == server]
            medians[scenario, server] = (
                statistics.median(r.requests_per_s for r in mine),
                statistics.median(r.p99_ms for r in mine),
            )
        bare, diy = medians[scenario, "bare"][0], medians[scenario, "diy"][0]
        for server in SERVERS:
            rps, p99 = medians[scenario, server]
            rounds = ", ".join(
                f"{r.requests_per_s:,.0f}"
                for r in results
                if r.scenario == scenario and r.server == server
            )
            lines.append(
                f"| {server} | {rps:,.0f} | {p99:.2f} | {rps / bare:.2f}x | {rps / diy:.2f}x "
                f"| {rounds} |"
            )
        lines.append("")
    if "a" in answers:
        lines += goals(medians)
    busiest = max((r.foreign_cpu or 0.0 for r in results), default=0.0)
    if busiest > FOREIGN_CPU_WARNING:
        lines += [
            "",
            f"WARNING: other processes used up to {busiest:.2f} cores during a round; the "
            "figures are skewed. Run again on a quiet machine.",
        ]
    return "\n".join(lines)


def goals(medians: dict[tuple[str, str], tuple[float, float]]) -> list[str]:
    """Issue 16's goals on scenario (a)."""
    bare, bare_p99 = medians["a", "bare"]
    off, off_p99 = medians["a", "dolmen-off"]
    on, on_p99 = medians["a", "dolmen-on"]
    diy = medians["a", "diy"][0]
    checks = [
        ("Dolmen off / bare", off / bare, ">= 0.85x", off / bare >= 0.85),
        ("Dolmen on / bare", on / bare, ">= 0.70x", on / bare >= 0.70),
        ("Dolmen on / DIY stack", on / diy, ">= 3.00x", on / diy >= 3.0),
        ("Dolmen off p99 / bare p99", off_p99 / bare_p99, "<= 2.00x", off_p99 <= 2 * bare_p99),
        ("Dolmen on p99 / bare p99", on_p99 / bare_p99, "<= 2.00x", on_p99 <= 2 * bare_p99),
    ]
    lines = ["Goals on (a):", ""]
    for name, value, goal, met in checks:
        lines.append(f"- {name}: **{value:.2f}x** (goal {goal}: {'met' if met else 'NOT met'})")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per round (10)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up seconds per server (3)")
    parser.add_argument("--scenarios", default="ab", help="which scenarios to run: a, b or ab (ab)")
    args = parser.parse_args(argv)
    if min(args.duration, args.rounds, args.connections, args.threads) < 1:
        parser.error("--duration, --rounds, --connections and --threads must be at least 1")
    if not args.scenarios or set(args.scenarios) - set(SCENARIOS):
        parser.error("--scenarios takes a, b or ab")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: list[Result] = []
    answers: dict[str, str] = {}
    try:
        wrk = find_wrk()
        server_prefix, wrk_prefix = pinning()
        python = peers_python()
        database = fresh_database()
        database_url = f"sqlite:///{database}"
        (SCRATCH / "observability-quotes.db").unlink(missing_ok=True)
        print(f"seeding {database} ...", file=sys.stderr)
        seed(database_url)
        for scenario in SCENARIOS:
            if scenario not in args.scenarios:
                continue
            path = SCENARIOS[scenario][0]
            servers: list[Server] = []
            try:
                for target in targets(scenario, python):
                    servers.append(Server(target, database_url, server_prefix))
                for server in servers:
                    server.wait_ready(path)
                answers[scenario] = same_answers(servers, path)
                results += run_scenario(scenario, servers, args, wrk, wrk_prefix)
            finally:
                for server in servers:
                    server.stop()
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(results, args, answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
