"""What traces add to a request's CPU time, in process (no server, no network).

A module route that makes one cross-module call and touches no database
(``GET /quotes/{sku}``: module ``orders`` awaits ``Stock.reserve`` of module ``stock``) is
served by calling the ASGI app directly, ``--requests`` times per round, as:

- ``bare FastAPI``: the same route in FastAPI, the service from an async ``Depends``;
- ``dolmen, traces off``: Dolmen with its JSON access log (to /dev/null) and metrics on;
- ``dolmen, traces 100%``: the same with traces sampled at 100% into the dashboard's buffer;
- ``dolmen, traces 0%``: head sampling drops every trace (the buffer still records them);
- ``dolmen, user's SDK provider``: an OpenTelemetry SDK ``TracerProvider`` installed first
  (used as it is, Dolmen's buffer reads its spans): the stock SDK's cost, for comparison.

Each variant's app is started once; the variants then take turns in chunks of ``--chunk``
requests (the global tracer provider set to the one each was started with), so that a busy
moment of the machine hits them alike. The clock is the process's CPU time
(``time.process_time``), so a busy machine slows the figures less than wall time would.
Prints the median µs per request over the rounds, and each variant's added µs over
``dolmen, traces off`` and its ratio to bare FastAPI.

    .venv/bin/python bench/trace_overhead.py [--rounds 7] [--requests 2000] [--chunk 100]

Results: docs/benchmarks.md, section "traces".
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI
from opentelemetry import trace
from opentelemetry.util._once import Once

from dolmen import App, Inject, Module, provide
from dolmen.observability import Observability

Asgi = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


class Stock(Protocol):
    """Module stock's public contract."""

    async def reserve(self, sku: str) -> int: ...


class LocalStock:
    async def reserve(self, sku: str) -> int:
        return 3


class Quotes:
    def __init__(self, stock: Stock) -> None:
        self.stock = stock

    async def quote(self, sku: str) -> dict[str, Any]:
        return {"sku": sku, "left": await self.stock.reserve(sku)}


router = APIRouter()


@router.get("/{sku}")
async def quote(sku: str, quotes: Annotated[Quotes, Inject(Quotes)]) -> dict[str, Any]:
    return await quotes.quote(sku)


def dolmen_app(database: Path, **observability: Any) -> App:
    stock = Module("stock", providers=[provide(Stock, LocalStock, public=True)])
    orders = Module("quotes", depends_on=["stock"], providers=[provide(Quotes)], routers=[router])
    config = {
        "app": {"database_url": f"sqlite:///{database}", "database_schema": "create"},
        "events": {"dispatch": False},
        "observability": {
            "log_format": "json",
            "outbox_sample_seconds": 3600,
            **observability,
        },
    }
    sink = open(os.devnull, "w")  # noqa: SIM115  # the access lines' file, for the run
    return App("bench", [stock, orders], config=config, extensions=[Observability(stream=sink)])


async def bare_quotes() -> Quotes:
    """The bare app's service, from an async ``Depends``."""
    return Quotes(LocalStock())


async def bare_quote(sku: str, q: Annotated[Quotes, Depends(bare_quotes)]) -> dict[str, Any]:
    return await q.quote(sku)


def bare_app() -> FastAPI:
    app = FastAPI()
    app.get("/quotes/{sku}")(bare_quote)
    return app


def reset_tracer_provider() -> None:
    """Forget the global tracer provider (as OpenTelemetry's own tests do)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/quotes/LAMP",
    "raw_path": b"/quotes/LAMP",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 5000),
    "server": ("127.0.0.1", 8000),
}


async def serve(asgi: Asgi, requests: int) -> float:
    """CPU seconds that ``requests`` GETs through ``asgi`` take."""
    body = {"type": "http.request", "body": b"", "more_body": False}
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return body

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await asgi(dict(SCOPE), receive, send)
    seconds = time.process_time() - started
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses: {sorted(set(statuses))}")
    return seconds


def install(provider: Any) -> None:
    """Make ``provider`` the global tracer provider (None: none, as in a fresh process)."""
    reset_tracer_provider()
    if provider is not None:
        trace.set_tracer_provider(provider)


async def main(rounds: int, requests: int, chunk: int) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    with tempfile.TemporaryDirectory() as scratch:
        database = Path(scratch) / "bench.db"
        variants: dict[str, tuple[Asgi, Any]] = {"bare FastAPI": (bare_app(), None)}
        apps: list[App] = []
        settings: dict[str, tuple[dict[str, Any], Any]] = {
            "dolmen, traces off": ({"traces": False}, None),
            "dolmen, traces 100%": ({}, None),
            "dolmen, traces 0%": ({"trace_sample_ratio": 0}, None),
            "dolmen, user's SDK provider": ({}, TracerProvider()),
        }
        for name, (observability, provider) in settings.items():
            install(provider)  # each app starts with the provider it is measured with
            app = dolmen_app(database, **observability)
            await app.start()
            apps.append(app)
            traced = observability.get("traces", True)
            variants[name] = (app, trace.get_tracer_provider() if traced else None)
        found: dict[str, list[float]] = {name: [] for name in variants}
        try:
            for asgi, provider in variants.values():  # warm up
                install(provider)
                await serve(asgi, 200)
            for _ in range(rounds):
                totals = dict.fromkeys(variants, 0.0)
                for _ in range(max(requests // chunk, 1)):  # small chunks, interleaved
                    for name, (asgi, provider) in variants.items():
                        install(provider)
                        totals[name] += await serve(asgi, chunk)
                for name, total in totals.items():
                    found[name].append(total / (max(requests // chunk, 1) * chunk))
        finally:
            for app in apps:
                await app.stop()
            reset_tracer_provider()
    medians = {name: statistics.median(times) * 1e6 for name, times in found.items()}
    bare, off = medians["bare FastAPI"], medians["dolmen, traces off"]
    out = io.StringIO()
    out.write(
        f"python {platform.python_version()}, {rounds} rounds x {requests} requests "
        f"(chunks of {chunk}, variants interleaved)\n\n"
    )
    out.write("| variant | µs CPU / request | added over traces off | bare FastAPI / it |\n")
    out.write("|---|---:|---:|---:|\n")
    for name, value in medians.items():
        added = "" if name == "bare FastAPI" else f"{value - off:+.1f}"
        out.write(f"| {name} | {value:.1f} | {added} | {bare / value:.2f}x |\n")
    print(out.getvalue())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=100)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.requests, arguments.chunk))
