"""The shop split in its three units, behind one gateway, for the tests of this folder.

``client`` here is a client of the split shop: the storefront, billing and notifications
units as ``dolmen run --unit`` processes on one database (a SQLite file, or PostgreSQL),
behind :mod:`gateway`, which sends each request to the unit that serves its path. The shop's
HTTP tests imported in this folder run against it unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import (
    ShopServer,
    _free_port,
    answers_healthz,
    kill_server,
    run_shop,
    start_server,
)

GATEWAY = Path(__file__).with_name("gateway.py")
ROUTES = {"/": "storefront", "/billing": "billing", "/notifications": "notifications"}
"""Which unit serves each path prefix (the storefront: catalog, orders and the probes)."""


@contextlib.contextmanager
def split_shop(folder: Path, database_url: str) -> Iterator[ShopServer]:
    """The three units on ``database_url`` and the gateway in front of them; stopped after."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for unit in dict.fromkeys(ROUTES.values()):  # one after the other: migrations
            (folder / unit).mkdir()
            options = ["--unit", unit]
            urls[unit] = stack.enter_context(run_shop(folder / unit, database_url, {}, options))
        routes = {prefix: urls[unit].url for prefix, unit in ROUTES.items()}
        port = _free_port()
        log_path = folder / "gateway.log"
        command = [sys.executable, str(GATEWAY), str(port), json.dumps(routes)]
        process = start_server(command, folder, dict(os.environ), log_path)
        stack.callback(_stop, process)
        gateway = ShopServer(f"http://127.0.0.1:{port}", process, log_path)
        if not answers_healthz(gateway.url, process):
            pytest.fail(f"the gateway did not answer; its output:\n{gateway.output()}")
        yield gateway


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_server(process)


@pytest.fixture(scope="session")
def sqlite_split_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopServer]:
    """The split shop on a SQLite file, shared by the tests of the session."""
    folder = tmp_path_factory.mktemp("split-shop")
    with split_shop(folder, f"sqlite:///{folder / 'shop.db'}") as gateway:
        yield gateway


@pytest.fixture(scope="session")
def postgres_split_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopServer]:
    """The split shop on a fresh PostgreSQL database, shared by the tests of the session."""
    folder = tmp_path_factory.mktemp("split-shop")
    with fresh_postgres_database("dolmen_units") as url, split_shop(folder, url) as gateway:
        yield gateway


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An HTTP client of the split shop (on both databases), through its gateway."""
    gateway: ShopServer = request.getfixturevalue(f"{request.param}_split_shop")
    with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
        yield client
