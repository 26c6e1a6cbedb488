"""A call across units against the same call in one process: latency and CPU per call.

The shop's ``orders`` module calls ``CatalogService.get_product(sku)`` (one indexed SELECT):

- ``in process``: the one-process shop; the call goes through the seam (observability on,
  as served) into the catalog's service, in the caller's unit of work;
- ``remote``: the catalog unit served by uvicorn in a process of its own on 127.0.0.1, the
  orders unit in this one; each call is signed, sent over a pooled keep-alive connection,
  checked and run in a unit of work of its own there, and its answer parsed back into a
  ``ProductView``.

Calls run one after the other (latency, not throughput), after a warm-up. The script prints
p50 and p99 latency in microseconds and the CPU time per call of the caller's process and,
for ``remote``, of the server's (read from ``/proc``), and both against the call in process,
as a markdown table, with the machine's load average: figures go to docs/benchmarks.md only
from a quiet machine.

    .venv/bin/python bench/units_calls.py [--calls 5000] [--warmup 500] [--rounds 3] [--plain]
        [--httpcore]

Both processes run as ``dolmen run`` would: on uvloop's event loop and httptools' parser when
``dolmen[fast]`` is installed (the dev install has it); ``--plain`` runs asyncio's loop and h11.
The caller sends through aiohttp's client when it is installed (``dolmen[fast]``), as a unit
does; ``--httpcore`` sends through httpx's own transport instead.

Goal (issue 17): a remote call on loopback at most 1 ms p50.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import _loop  # bench/, this script's folder

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
HOST = "127.0.0.1"
SKU = "LAMP"
PRODUCT = {"sku": SKU, "name": "Lamp", "price": "35.00", "stock": 5}
HTTPCORE = os.environ.get("BENCH_HTTPCORE") == "1"
"""The calls through httpx's own transport even when aiohttp is installed (``--httpcore``)."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _paths() -> None:
    for path in (str(ROOT), str(EXAMPLES)):
        if path not in sys.path:
            sys.path.insert(0, path)


def serve(port: int, database_url: str) -> None:
    """The catalog unit, served by uvicorn on ``port`` (the child process)."""
    _paths()
    import uvicorn

    from tests.units_calls import unit_app

    os.environ.setdefault("DOLMEN__APP__DATABASE_SCHEMA", "create")
    app, _ = unit_app("catalog", database_url, config={"observability": {"access_log": False}})
    plain = _loop.plain()  # asyncio's loop and h11, as without dolmen[fast]
    if os.environ.get("EXP_ONEWRITE") == "1":
        from uvicorn.protocols.http.httptools_impl import RequestResponseCycle
        orig = RequestResponseCycle.send
        class Hold:
            def __init__(self, real): self.real, self.held = real, []
            def write(self, data): self.held.append(data)
            def __getattr__(self, name): return getattr(self.real, name)
        async def send(self, message):
            t = message["type"]
            if t == "http.response.start":
                real = self.transport
                hold = Hold(real)
                self.transport = hold
                try:
                    await orig(self, message)
                finally:
                    self.transport = real
                self._dolmen_held = b"".join(hold.held)
                return
            held = self.__dict__.pop("_dolmen_held", None)
            if held is not None and t == "http.response.body":
                real = self.transport
                hold = Hold(real)
                self.transport = hold
                try:
                    await orig(self, message)
                finally:
                    self.transport = real
                real.write(held + b"".join(hold.held))
                return
            await orig(self, message)
        RequestResponseCycle.send = send
    if os.environ.get("EXP_PROF"):
        import cProfile, threading
        prof = cProfile.Profile()
        prof.enable()
        import signal
        def dump(*_):
            prof.disable(); prof.dump_stats(os.environ["EXP_PROF"]); os._exit(0)
        signal.signal(signal.SIGUSR1, dump)
    uvicorn.run(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        loop="asyncio" if plain else "auto",
        http="h11" if plain else "auto",
    )
    if os.environ.get("EXP_PROF"):
        prof.disable()
        prof.dump_stats(os.environ["EXP_PROF"])


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(
    call: Callable[[], Awaitable[Any]], calls: int, warmup: int
) -> tuple[list[float], float]:
    """Each call's latency in seconds, and this process's CPU seconds for them all."""
    for _ in range(warmup):
        await call()
    latencies = []
    cpu = time.process_time()
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        latencies.append(time.perf_counter() - started)
    return latencies, time.process_time() - cpu


async def in_process(folder: Path, calls: int, warmup: int) -> dict[str, float]:
    from shop.app import create_app
    from shop.catalog.api import CatalogService, NewProduct

    app = create_app({"app": {"database_url": f"sqlite:///{folder / 'one.db'}"},
                      "observability": {"configure_logging": False}})  # fmt: skip
    async with app.running():
        async with app.unit_of_work("catalog") as work:
            await (await work.get(CatalogService)).add_product(NewProduct.model_validate(PRODUCT))
        async with app.unit_of_work("orders", write=False) as work:
            catalog = await work.get(CatalogService)
            latencies, cpu = await timed(lambda: catalog.get_product(SKU), calls, warmup)
    return summary(latencies, cpu, None, calls)


async def remote(folder: Path, calls: int, warmup: int) -> dict[str, float]:
    import httpx
    from shop.catalog.api import CatalogService

    from tests.units_calls import unit_app

    port = free_port()
    server = start_server(port, f"sqlite:///{folder / 'catalog.db'}")
    url = f"http://{HOST}:{port}"
    try:
        await wait_until_up(url)
        async with httpx.AsyncClient(base_url=url) as client:
            await client.post("/catalog/products", json=PRODUCT)
        from dolmen.units._remote_client import pooled_transport

        orders, _ = unit_app(
            "orders",
            f"sqlite:///{folder / 'orders.db'}",
            catalog_url=url,
            transport=pooled_transport(aiohttp=False) if HTTPCORE else None,
            config={"observability": {"configure_logging": False}},
        )
        async with orders.running(), orders.unit_of_work("orders", write=False) as work:
            catalog = await work.get(CatalogService)
            for _ in range(warmup):
                await catalog.get_product(SKU)
            server_cpu = cpu_seconds(server.pid)
            latencies, cpu = await timed(lambda: catalog.get_product(SKU), calls, 0)
            server_cpu = cpu_seconds(server.pid) - server_cpu
    finally:
        if os.environ.get("EXP_PROF"):
            import signal
            server.send_signal(signal.SIGUSR1); time.sleep(2)
        server.terminate()
        server.wait(timeout=30)
    return summary(latencies, cpu, server_cpu, calls)


def start_server(port: int, database_url: str) -> subprocess.Popen[bytes]:
    """This script in serving mode: the catalog unit, in a process of its own."""
    return subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), database_url],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(EXAMPLES)])},
    )


def summary(
    latencies: list[float], cpu: float, server_cpu: float | None, calls: int
) -> dict[str, float]:
    result = {
        "p50": percentile(latencies, 0.5) * 1e6,
        "p99": percentile(latencies, 0.99) * 1e6,
        "cpu": cpu / calls * 1e6,
    }
    if server_cpu is not None:
        result["server_cpu"] = server_cpu / calls * 1e6
    return result


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def wait_until_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the catalog unit did not start at {url}")


async def main(calls: int, warmup: int, rounds: int) -> None:
    _paths()
    os.environ.setdefault("DOLMEN__APP__DATABASE_SCHEMA", "create")
    results: dict[str, list[dict[str, float]]] = {"in process": [], "remote": []}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            results["in process"].append(await in_process(folder, calls, warmup))
            results["remote"].append(await remote(folder, calls, warmup))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, load average {load:.2f}; {calls} calls x {rounds} rounds, "
          "medians of the rounds\n")  # fmt: skip
    rows = {
        name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for name, runs in results.items()
    }
    one = rows["in process"]
    print(
        "| call | p50 (µs) | p99 (µs) | caller CPU (µs/call) | callee CPU (µs/call) "
        "| CPU vs in process | p50 vs in process |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for name, row in rows.items():
        callee = f"{row['server_cpu']:.0f}" if "server_cpu" in row else "(same process)"
        cpu = (row["cpu"] + row.get("server_cpu", 0.0)) / one["cpu"]
        print(f"| {name} | {row['p50']:.0f} | {row['p99']:.0f} | {row['cpu']:.0f} | {callee} "
              f"| {cpu:.1f}x | {row['p50'] / one['p50']:.1f}x |")  # fmt: skip
    if load > 0.5:
        print("\nThe machine is not quiet (load average above 0.5): do not record these figures.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="asyncio's event loop and uvicorn's h11 parser even when dolmen[fast] is installed",
    )
    parser.add_argument(
        "--httpcore",
        action="store_true",
        help="the calls through httpx's own transport (httpcore) even when aiohttp is installed",
    )
    parser.add_argument(
        "--serve", nargs=2, metavar=("PORT", "DATABASE_URL"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.serve:
        serve(int(options.serve[0]), options.serve[1])
    else:
        if options.plain:
            os.environ["BENCH_PLAIN"] = "1"
        HTTPCORE = HTTPCORE or options.httpcore
        print(f"event loop: {_loop.loop_name()} (caller and unit); calls through "
              f"{'httpcore' if HTTPCORE else 'aiohttp, if installed'}")  # fmt: skip
        _loop.run(main(options.calls, options.warmup, options.rounds))
