"""The shop as three deployment units, each a ``dolmen run --unit`` process, on one database.

The storefront (catalog and orders), billing and notifications share one SQLite file or one
PostgreSQL database; events cross units through its outbox. Orders are placed over HTTP on
the storefront and followed on each unit until every one is settled.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.dolmen_runner import EXAMPLES, dolmen, env_for
from tests.e2e.conftest import run_shop
from tests.e2e.test_shop_http import add_product, new_customer, place_order

UNITS = ("storefront", "billing", "notifications")
DEADLINE = 30.0  # seconds for an order to settle across three processes on a busy machine
T = TypeVar("T")


def polled(fetch: Callable[[], T], done: Callable[[T], bool], what: str) -> T:
    """``fetch()`` once ``done`` says so, polled every 50 ms for up to DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {DEADLINE:.0f}s; last seen: {value!r}")
        time.sleep(0.05)


def test_three_unit_processes_on_one_database_settle_every_order_once(
    database_url: str, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        urls = {}
        for unit in UNITS:  # one after the other: each applies its own modules' migrations
            folder = tmp_path / unit
            folder.mkdir()
            server = stack.enter_context(run_shop(folder, database_url, options=["--unit", unit]))
            urls[unit] = server.url
        clients = {
            unit: stack.enter_context(httpx.Client(base_url=url, timeout=10.0))
            for unit, url in urls.items()
        }
        storefront = clients["storefront"]
        cheap = add_product(storefront, price="10.00", stock=10)
        dear = add_product(storefront, price="2000.00", stock=10)  # above billing's limit
        orders = []
        for sku in (cheap, dear, cheap, cheap, dear):
            email = new_customer()
            response = place_order(storefront, email, (sku, 1))
            assert response.status_code == 201, response.text
            orders.append((response.json()["id"], email, sku))

        for order_id, email, sku in orders:
            order = polled(
                functools.partial(order_of, storefront, order_id),
                lambda order: order["status"] != "pending",
                f"order {order_id} did not settle",
            )
            expected = "paid" if sku == cheap else "payment_failed"
            assert order["status"] == expected, order
            payment = clients["billing"].get(f"/billing/payments/{order_id}")
            assert payment.status_code == 200, payment.text
            assert payment.json()["status"] == ("captured" if sku == cheap else "failed")
            if expected == "paid":
                sent = polled(
                    functools.partial(notifications_of, clients["notifications"], email),
                    bool,
                    f"no notification reached {email}",
                )
                assert [n["order_id"] for n in sent] == [order_id]
        for _, email, sku in orders:  # every paid order was notified once, the others never
            expected_count = 1 if sku == cheap else 0
            assert len(notifications_of(clients["notifications"], email)) == expected_count

        # Each unit serves its own modules' routes, no other.
        assert storefront.get(f"/billing/payments/{orders[0][0]}").status_code == 404
        assert clients["billing"].get(f"/orders/{orders[0][0]}").status_code == 404
        assert clients["notifications"].get(f"/catalog/products/{cheap}").status_code == 404


def order_of(client: httpx.Client, order_id: str) -> dict[str, Any]:
    response = client.get(f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    order: dict[str, Any] = response.json()
    return order


def notifications_of(client: httpx.Client, email: str) -> list[dict[str, Any]]:
    response = client.get("/notifications", params={"email": email})
    assert response.status_code == 200, response.text
    notifications: list[dict[str, Any]] = response.json()
    return notifications


def test_a_unit_the_shop_does_not_declare_is_refused_before_serving(tmp_path: Path) -> None:
    result = dolmen(
        "run", "shop.app:app", "--app-dir", str(EXAMPLES), "--unit", "shipping",
        cwd=tmp_path, env=env_for(tmp_path),
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert "--unit shipping: app 'shop' declares no unit 'shipping'" in result.stderr
    assert "(its units: billing, notifications, storefront)" in result.stderr
    assert not (tmp_path / "var").exists()  # nothing started, no database made


def test_units_prints_the_shop_s_three_units(tmp_path: Path) -> None:
    result = dolmen(
        "units", "shop.app:app", "--app-dir", str(EXAMPLES), cwd=tmp_path, env=env_for(tmp_path)
    )

    assert result.returncode == 0, result.stderr
    assert "unit storefront (no url, 1 replica)\n  modules   catalog, orders\n" in result.stdout
    assert "  orders.OrderPlaced: storefront -> billing (billing.charge_order)" in result.stdout


def test_a_topology_that_does_not_fit_the_modules_is_reported_with_each_problem(
    tmp_path: Path,
) -> None:
    (tmp_path / "dolmen.toml").write_text(
        '[units.unit.front]\nmodules = ["catalog", "order"]\n'
        '[units.unit.back]\nmodules = ["billing", "notifications"]\n'
    )
    (tmp_path / "split_shop.py").write_text(
        "from dolmen import App\n"
        "from shop.app import app as shop\n"
        "app = App('shop', shop.modules)  # its configuration: ./dolmen.toml\n"
    )
    env = env_for(tmp_path)

    for command in (["units", "split_shop:app"], ["run", "split_shop:app", "--unit", "front"]):
        result = dolmen(*command, "--app-dir", str(tmp_path), cwd=tmp_path, env=env)
        assert result.returncode == 2, result.stderr
        assert "[units] has 2 problems:" in result.stderr
        assert "unit 'front' lists module 'order', which the app does not have" in result.stderr
        assert "module 'orders' is in no unit" in result.stderr
    checked = dolmen("config", "check", "--app", "split_shop:app", "--app-dir", str(tmp_path),
                     cwd=tmp_path, env=env)  # fmt: skip
    assert checked.returncode == 1, checked.stderr
    assert "unit 'front' lists module 'order', which the app does not have" in checked.stderr
