"""The shop split in its three units, behind one gateway, for the tests of this folder.

``split_shop`` is the shop's storefront, billing and notifications units as
``dolmen run --unit`` processes (:mod:`launcher`) behind :mod:`gateway`, which sends each
request to the unit that serves its path, in each topology of ``TOPOLOGIES``: over the
database transport (the units on one SQLite file, or one PostgreSQL database), and over
RabbitMQ, NATS JetStream and Redis Streams (each unit on a SQLite file of its own, under a
broker namespace of its own). It is started once per module and topology. ``client`` talks
to it through the gateway: the shop's HTTP tests imported in this folder run against it
unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import ShopServer, _free_port, answers_healthz, kill_server, start_server
from tests.e2e.units.launcher import ShopUnits, own_databases, shop_units, transport_env

GATEWAY = Path(__file__).with_name("gateway.py")
ROUTES = {"/": "storefront", "/billing": "billing", "/notifications": "notifications"}
"""Which unit serves each path prefix (the storefront: catalog, orders and the probes)."""
TOPOLOGIES = [
    pytest.param(("database", "sqlite"), id="database-sqlite"),
    pytest.param(("database", "postgres"), id="database-postgres", marks=pytest.mark.postgres),
    pytest.param(("rabbitmq", "sqlite"), id="rabbitmq-sqlite"),
    pytest.param(("nats", "sqlite"), id="nats-sqlite"),
    pytest.param(("redis", "sqlite"), id="redis-sqlite"),
]
"""Each (transport, database): the database transport shares one database between the units;
over a broker each unit has its own. The failure tests of ``test_units_over_broker.py`` run
each broker on PostgreSQL (RabbitMQ on SQLite too): every broker runs on both databases."""


@dataclass
class SplitShop:
    """The units, and the gateway in front of them."""

    transport: str
    units: ShopUnits
    gateway: ShopServer


@contextlib.contextmanager
def gateway_to(folder: Path, units: ShopUnits) -> Iterator[ShopServer]:
    """The gateway in front of ``units``; stopped after."""
    routes = {prefix: units.url(unit) for prefix, unit in ROUTES.items()}
    port = _free_port()
    log_path = folder / "gateway.log"
    command = [sys.executable, str(GATEWAY), str(port), json.dumps(routes)]
    process = start_server(command, folder, dict(os.environ), log_path)
    gateway = ShopServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        if not answers_healthz(gateway.url, process):
            pytest.fail(f"the gateway did not answer; its output:\n{gateway.output()}")
        yield gateway
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_server(process)


@contextlib.contextmanager
def databases_for(folder: Path, transport: str, kind: str) -> Iterator[str | dict[str, str]]:
    """One database shared by the units (the database transport), else one per unit."""
    if transport != "database":
        with own_databases(folder, kind) as urls:
            yield urls
    elif kind == "sqlite":
        yield f"sqlite:///{folder / 'shop.db'}"
    else:
        with fresh_postgres_database("e2e_units") as url:
            yield url


@pytest.fixture(scope="module", params=TOPOLOGIES)
def split_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SplitShop]:
    """The split shop in one topology, shared by the tests of a module."""
    transport, kind = request.param
    folder = tmp_path_factory.mktemp(f"split-shop-{transport}-{kind}")
    env = transport_env(transport)
    with (
        databases_for(folder, transport, kind) as databases,
        shop_units(folder, databases, env) as units,
        gateway_to(folder, units) as gateway,
    ):
        yield SplitShop(transport, units, gateway)


@pytest.fixture
def client(split_shop: SplitShop) -> Iterator[httpx.Client]:
    """An HTTP client of the split shop (in every topology), through its gateway."""
    with httpx.Client(base_url=split_shop.gateway.url, timeout=10.0) as client:
        yield client
