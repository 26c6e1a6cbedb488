"""Start the shop's units as ``dolmen run --unit`` processes, with a given transport.

One helper for every test of this folder that runs the shop split: :func:`shop_units` starts
the units of the shop's ``[units]`` (storefront, billing, notifications), each in a folder of
its own, on the databases and with the transport the caller gives; any unit can be killed with
SIGKILL and started again. Units on one database start one after the other (each applies its
own modules' migrations), units on databases of their own all at once, as a deployment starts
them. On leaving, each unit is stopped with SIGTERM and must shut down cleanly.

- ``transport_env("database")``: the units share one database and its outbox;
- ``transport_env("rabbitmq", url)`` (``nats``, ``redis``): events cross that broker, under a
  broker namespace of their own, each unit usually on a database of its own
  (:func:`own_databases`).
"""

from __future__ import annotations

import contextlib
import signal
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_databases, service_url
from tests.e2e.crash_shop import CrashableShop, ShopDatabase

UNITS = ("storefront", "billing", "notifications")
"""The shop's units (its dolmen.toml), in the order they start."""
MODULES = {"storefront": {"catalog", "orders"}, "billing": {"billing"},
           "notifications": {"notifications"}}  # fmt: skip
"""The modules each unit runs."""
BROKER_URLS = {
    "rabbitmq": "DOLMEN_TEST_RABBITMQ_URL",
    "nats": "DOLMEN_TEST_NATS_URL",
    "redis": "DOLMEN_TEST_REDIS_URL",
}
"""The variable holding each broker's URL (the test skips when it is unset)."""


def broker_url(transport: str) -> str:
    """The URL of the test broker of ``transport`` (skips the test when it is unset)."""
    return service_url(BROKER_URLS[transport])


def transport_env(transport: str, url: str | None = None) -> dict[str, str]:
    """The units' settings for ``transport``, through the broker at ``url`` (default: the
    test broker), on destinations of their own (a fresh ``[units] broker_namespace``)."""
    if transport == "database":
        return {}
    return {
        "DOLMEN__UNITS__TRANSPORT": transport,
        "DOLMEN__UNITS__BROKER_URL": url or broker_url(transport),
        "DOLMEN__UNITS__BROKER_NAMESPACE": f"e2e-{uuid.uuid4().hex[:12]}",
    }


@contextlib.contextmanager
def own_databases(folder: Path, kind: str) -> Iterator[dict[str, str]]:
    """A database per unit: a SQLite file in ``folder`` (``kind`` "sqlite"), or a fresh
    PostgreSQL database each ("postgres"), dropped after."""
    if kind == "sqlite":
        yield {unit: f"sqlite:///{folder / f'{unit}.db'}" for unit in UNITS}
        return
    with fresh_postgres_databases(len(UNITS), "e2e_units") as urls:
        yield dict(zip(UNITS, urls, strict=True))


@dataclass
class ShopUnits:
    """The running units, by name: their URLs, databases, and kill-and-restart."""

    shops: dict[str, CrashableShop]

    def url(self, unit: str) -> str:
        """Where ``unit`` answers now (a restarted unit listens on a new port)."""
        return self.shops[unit].url

    def client(self, unit: str) -> httpx.Client:
        """A new HTTP client of ``unit`` (close it)."""
        return httpx.Client(base_url=self.url(unit), timeout=10.0)

    def database(self, unit: str) -> ShopDatabase:
        """``unit``'s database, read directly."""
        return ShopDatabase(self.shops[unit].database_url)

    def kill_and_restart(self, unit: str) -> None:
        """SIGKILL ``unit`` wherever it is, then start it again on the same database."""
        self.shops[unit].kill()
        self.shops[unit].start()


@contextlib.contextmanager
def shop_units(
    folder: Path,
    databases: str | Mapping[str, str],
    env: Mapping[str, str],
    *,
    tracebacks_expected: bool = False,
) -> Iterator[ShopUnits]:
    """The shop's units as processes: on ``databases`` (one URL for all, or one per unit),
    with ``env`` (:func:`transport_env` and more settings); stopped cleanly after.

    ``tracebacks_expected``: the test breaks something on purpose (cuts the broker), which
    the units log with tracebacks; they must still shut down cleanly.
    """
    shops: dict[str, CrashableShop] = {}
    try:
        for unit in UNITS:
            (folder / unit).mkdir()
            url = databases if isinstance(databases, str) else databases[unit]
            shops[unit] = CrashableShop(folder / unit, url, env, ["--unit", unit])
        if isinstance(databases, str):  # one after the other: each migrates its own modules
            for shop in shops.values():
                shop.start()
        else:  # all at once, as a deployment starts them
            with ThreadPoolExecutor(len(shops)) as pool:
                for started in [pool.submit(shop.start) for shop in shops.values()]:
                    started.result()
        yield ShopUnits(shops)
        for unit, shop in shops.items():
            _stop_cleanly(unit, shop, tracebacks_expected)
    finally:
        for shop in shops.values():
            shop.close()


def _stop_cleanly(unit: str, shop: CrashableShop, tracebacks_expected: bool) -> None:
    """Stop ``unit`` with SIGTERM; fail unless it shut down cleanly (and, unless expected,
    logged no traceback: event handlers run in the background, so a failure shows only there)."""
    code = shop.stop()
    output = shop.current.output()
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: -SIGTERM is clean.
    clean = code in (0, -signal.SIGTERM) and "Application shutdown complete" in output
    tracebacks = not tracebacks_expected and any(
        "Traceback" in i.output() for i in shop.incarnations
    )
    if not clean or tracebacks:
        pytest.fail(
            f"unit {unit} did not shut down cleanly (exit code {code}) or logged a traceback; "
            f"its output:\n{shop.output(tail=200)}"
        )
