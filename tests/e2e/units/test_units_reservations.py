"""The orders unit killed between the catalog's reservation and the order's commit: the
stock comes back when the reservation expires, on a SQLite file and on PostgreSQL.

The shop runs split in two processes on one database (catalog / orders, billing and
notifications: tests/units_calls.py), orders calling ``catalog.reserve`` over HTTP. The
orders process stops for good after reserving a ``crash…`` customer's order
(reserving_unit.py) and is killed there with SIGKILL; the test then moves the catalog's
clock past the expiry and waits (bounded) for its sweeper to give the stock back.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import waiting
from tests.e2e.conftest import _free_port, _stop, answers_healthz, kill_server, start_server
from tests.e2e.crash_shop import ShopDatabase

REPO = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("reserving_unit.py")
DEADLINE = 30.0  # seconds for a step to happen, on a busy machine
LAMP = {"sku": "LAMP", "name": "Lamp", "price": "35.00", "stock": 5}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` every 50 ms for up to DEADLINE seconds."""
    waiting.wait_until(condition, what, DEADLINE)


def start_unit(unit: str, database_url: str, catalog_url: str, port: int, folder: Path) -> (
    subprocess.Popen[bytes]
):  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLMEN_")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "examples")]),
               PYTHONUNBUFFERED="1")  # fmt: skip
    command = [sys.executable, str(SCRIPT), unit, str(port), database_url, catalog_url,
               str(folder)]  # fmt: skip
    log = folder / f"{unit}.log"
    process = start_server(command, folder, env, log)
    if not answers_healthz(f"http://127.0.0.1:{port}", process):
        _stop(process)
        pytest.fail(f"the {unit} unit did not start; its output:\n{log.read_text()}")
    return process


@dataclass
class Unit:
    url: str
    process: subprocess.Popen[bytes]


@pytest.fixture
def units(database_url: str, tmp_path: Path) -> Iterator[dict[str, Unit]]:
    """The catalog unit, then the orders unit, on one database."""
    ports = {"catalog": _free_port(), "orders": _free_port()}
    catalog_url = f"http://127.0.0.1:{ports['catalog']}"
    started: dict[str, Unit] = {}
    try:
        for name, port in ports.items():
            process = start_unit(name, database_url, catalog_url, port, tmp_path)
            started[name] = Unit(f"http://127.0.0.1:{port}", process)
        yield started
    finally:
        for unit in started.values():
            _stop(unit.process)


def place_order(url: str, email: str, quantity: int) -> httpx.Response:
    order = {"customer_email": email, "items": [{"sku": "LAMP", "quantity": quantity}]}
    with httpx.Client(base_url=url, timeout=DEADLINE) as client:
        return client.post("/orders", json=order)


def test_stock_reserved_by_an_orders_unit_killed_before_its_commit_comes_back(
    units: dict[str, Unit], database_url: str, tmp_path: Path
) -> None:
    database = ShopDatabase(database_url)
    reservations = f"SELECT state FROM {database.table('catalog', 'reservations')}"

    def states() -> Counter[str]:
        return Counter(state for (state,) in asyncio.run(database.rows(reservations)))

    catalog = httpx.Client(base_url=units["catalog"].url, timeout=DEADLINE)
    with catalog:
        assert catalog.post("/catalog/products", json=LAMP).status_code == 201

        def stock() -> int:
            return int(catalog.get("/catalog/products/LAMP").json()["stock"])

        placed = place_order(units["orders"].url, "ada@example.com", 1)
        assert placed.status_code == 201, placed.text
        wait_until(lambda: states() == {"confirmed": 1}, "OrderPlaced did not confirm")

        crashing: list[BaseException] = []  # the request dies with the process

        def place_crashing() -> None:
            try:
                place_order(units["orders"].url, "crash@example.com", 2)
            except httpx.TransportError as error:
                crashing.append(error)

        request = threading.Thread(target=place_crashing)
        request.start()
        wait_until((tmp_path / "reserved").exists, "the orders unit did not reserve")
        assert stock() == 2  # 5 - 1 placed - 2 reserved by the order about to die
        kill_server(units["orders"].process)
        request.join(DEADLINE)
        assert len(crashing) == 1
        assert states() == {"confirmed": 1, "held": 1}  # the order never committed

        (tmp_path / "clock-offset").write_text("901")  # past [catalog] reservation_seconds
        wait_until(lambda: stock() == 4, "the stock did not come back")
        assert states() == {"confirmed": 1, "expired": 1}
        assert stock() == 4  # given back once: the placed order keeps its item
