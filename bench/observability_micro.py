"""Dolmen's per-request CPU cost, in process: the ASGI apps called directly, no server, no wrk.

Scenario (a) of bench/observability.py, ``GET /quotes/{sku}``: a module route that makes one
cross-module call and touches no database. Each variant's ASGI app is called REQUESTS times
with a synthetic HTTP scope (its response bodies thrown away; after each request a turn of
the event loop, as a server gives, so that callbacks such as log writes run), in rounds;
within a round the variants run in a shuffled order, and the time is the process's CPU time
(``time.process_time``), so that other processes on a busy machine hardly skew it. Variants:

- ``bare``: FastAPI with an async ``Depends`` providing the service
  (bench/observability_peers/bare.py);
- ``dolmen-off``: Dolmen with ``[observability] enabled = false``;
- ``dolmen-on``: Dolmen with everything on: JSON lines (the access log) to a file, metrics,
  and traces sampled at 100% when this Dolmen has them.

It prints the median (and the fastest round's) microseconds per request and the ratio of the
bare app's cost to each: the throughput a single core would give, relative to bare FastAPI.
On a busy machine the fastest rounds are the steadier figures.

    .venv/bin/python bench/observability_micro.py [--rounds 15] [--requests 2000]
    .venv/bin/python bench/observability_micro.py --profile dolmen-on  # PROFILE_SORT=cumulative

``--profile VARIANT`` prints a cProfile of that variant instead. Results: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PATH = "/quotes/LAMP"

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def tracing_settings() -> dict[str, Any]:
    """The ``[observability]`` settings that turn traces on at 100%, when this Dolmen has them.

    Read from the settings' fields, so that the benchmark follows the names they have: a
    boolean field about traces is set true, a number about trace sampling 1.0.
    """
    from dolmen.observability import ObservabilitySettings

    found: dict[str, Any] = {}
    for name, field in ObservabilitySettings.model_fields.items():
        if "trac" not in name and "span" not in name:
            continue
        if field.annotation is bool:
            found[name] = True
        elif field.annotation is float and ("sampl" in name or "ratio" in name):
            found[name] = 1.0
    return found


def scope() -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class Sink:
    """The ``send`` of a request: checks the status, keeps nothing."""

    status = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


async def serve(app: Asgi, requests: int) -> float:
    """CPU seconds for ``requests`` requests of ``app``."""
    sink = Sink()
    started = time.process_time()
    for _ in range(requests):
        await app(scope(), receive, sink)
        await asyncio.sleep(0)  # a turn of the loop, as a server gives: callbacks run
    elapsed = time.process_time() - started
    if sink.status != 200:
        raise SystemExit(f"GET {PATH} answered {sink.status}")
    return elapsed


async def variants(folder: Path) -> tuple[dict[str, Asgi], list[Any]]:
    """The apps to compare, and the Dolmen apps (started; the caller stops them)."""
    sys.path.insert(0, str(BENCH))
    from observability_peers.bare import app as bare
    from observability_peers.quotes import create_app

    from dolmen.observability import Observability

    database = {"database_url": f"sqlite:///{folder / 'quotes.db'}", "database_schema": "create"}
    off = create_app({"app": database, "observability": {"enabled": False}})
    log = (folder / "access.log").open("a", buffering=1)
    on_settings = {"log_format": "json", **tracing_settings()}
    on = create_app({"app": database, "observability": on_settings}, [Observability(stream=log)])
    for app in (off, on):
        await app.start()
    return {"bare": bare, "dolmen-off": off, "dolmen-on": on}, [off, on]


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        apps, started = await variants(Path(tmp))
        try:
            for app in apps.values():
                await serve(app, 200)  # warm up: routes built, caches filled
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await serve(apps[args.profile], args.requests * 5)
                profiler.disable()
                order = os.environ.get("PROFILE_SORT", "tottime")
                pstats.Stats(profiler).sort_stats(order).print_stats(35)
                return
            times: dict[str, list[float]] = {name: [] for name in apps}
            for _ in range(args.rounds):
                order = list(apps)
                random.shuffle(order)
                for name in order:
                    times[name].append(await serve(apps[name], args.requests) / args.requests)
        finally:
            for app in started:
                await app.stop()
    report(times, args)


def report(times: dict[str, list[float]], args: argparse.Namespace) -> None:
    bare = statistics.median(times["bare"])
    print(
        f"GET {PATH}, {args.requests} requests x {args.rounds} rounds per variant, CPU time "
        f"(time.process_time), commit {git_revision()}, Python {sys.version.split()[0]}; "
        f"tracing: {'on at 100%' if tracing_settings() else 'unavailable in this Dolmen'}"
    )
    print()
    fastest = min(times["bare"])
    print("| variant | median us/request | bare / variant | fastest round | bare / variant |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median * 1e6:.1f} | {bare / median:.2f}x | {min(values) * 1e6:.1f} "
            f"| {fastest / min(values):.2f}x |"
        )


def git_revision() -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", choices=["bare", "dolmen-off", "dolmen-on"])
    args = parser.parse_args(argv)
    os.environ.setdefault("DOLMEN_ENVIRONMENT", "production")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
