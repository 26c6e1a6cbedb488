"""The example shop driven over real HTTP, as a client sees it.

The servers are shared by the tests (see ``conftest.py``), so every test makes its own products
and customers (unique SKUs and e-mail addresses). Tests that use ``client`` run once on SQLite
and once on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchShop

DEADLINE = 10.0  # seconds to wait for billing and notifications, which run after the response
SHOP_PATHS = {
    "/catalog/products": {"post"},
    "/catalog/products/{sku}": {"get"},
    "/orders": {"post"},
    "/orders/{order_id}": {"get"},
    "/billing/payments/{order_id}": {"get"},
    "/notifications": {"get"},
    "/healthz": {"get"},
    "/readyz": {"get"},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_customer() -> str:
    return f"{unique('customer')}@example.com"


def add_product(client: httpx.Client, *, price: str = "10.00", stock: int = 5) -> str:
    """Add a product with a new SKU; return the SKU."""
    sku = unique("SKU")
    response = client.post(
        "/catalog/products",
        json={"sku": sku, "name": f"Product {sku}", "price": price, "stock": stock},
    )
    assert response.status_code == 201, response.text
    return sku


def place_order(client: httpx.Client, email: str, *items: tuple[str, int]) -> httpx.Response:
    return client.post(
        "/orders",
        json={
            "customer_email": email,
            "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
        },
    )


def stock_of(client: httpx.Client, sku: str) -> int:
    response = client.get(f"/catalog/products/{sku}")
    assert response.status_code == 200, response.text
    stock: int = response.json()["stock"]
    return stock


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    """Call ``read`` until ``done`` accepts its result; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {DEADLINE:.0f}s; last seen: {value!r}")
        time.sleep(0.05)


def settled_order(client: httpx.Client, order_id: str) -> dict[str, Any]:
    """The order once billing has decided (no longer pending)."""
    order: dict[str, Any] = eventually(
        lambda: client.get(f"/orders/{order_id}").json(),
        lambda order: order["status"] != "pending",
        f"order {order_id} did not leave 'pending'",
    )
    return order


def notifications_once_sent(client: httpx.Client, email: str) -> list[dict[str, Any]]:
    """The notifications of ``email``, once there is at least one."""
    notifications: list[dict[str, Any]] = eventually(
        lambda: client.get("/notifications", params={"email": email}).json(),
        bool,
        f"no notification reached {email}",
    )
    return notifications


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """An RFC 9457 problem with this status; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(status).phrase
    assert body["status"] == status
    return body


def test_an_order_becomes_paid_and_notifies_the_customer(client: httpx.Client) -> None:
    sku = add_product(client, price="35.00", stock=5)
    email = new_customer()

    placed = place_order(client, email, (sku, 2))

    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "pending"
    assert order["customer_email"] == email
    assert order["items"] == [{"sku": sku, "quantity": 2, "unit_price": "35.00"}]
    assert order["total"] == "70.00"
    assert stock_of(client, sku) == 3

    settled = settled_order(client, order["id"])
    assert settled["status"] == "paid"
    assert settled["failure_reason"] is None

    payment = client.get(f"/billing/payments/{order['id']}")
    assert payment.status_code == 200, payment.text
    captured = payment.json()
    assert captured["order_id"] == order["id"]
    assert captured["amount"] == "70.00"
    assert captured["status"] == "captured"
    assert captured["reason"] is None

    [notification] = notifications_once_sent(client, email)
    assert notification["order_id"] == order["id"]
    assert notification["email"] == email
    assert notification["kind"] == "order_paid"
    assert "70.00" in notification["subject"]


def test_an_order_for_an_unknown_sku_is_refused_with_404_and_reserves_nothing(
    client: httpx.Client,
) -> None:
    sku = add_product(client, stock=5)
    missing = unique("MISSING")

    response = place_order(client, new_customer(), (sku, 2), (missing, 1))

    problem = assert_problem(response, 404)
    assert missing in problem["detail"]
    assert stock_of(client, sku) == 5


def test_an_order_for_more_than_the_stock_is_refused_with_409_and_leaves_the_stock_unchanged(
    client: httpx.Client,
) -> None:
    plenty = add_product(client, stock=3)
    scarce = add_product(client, stock=1)

    response = place_order(client, new_customer(), (plenty, 2), (scarce, 5))

    problem = assert_problem(response, 409)
    assert scarce in problem["detail"]
    assert stock_of(client, plenty) == 3
    assert stock_of(client, scarce) == 1
    # Every item is still for sale: an order for all of them goes through.
    assert place_order(client, new_customer(), (plenty, 3), (scarce, 1)).status_code == 201
    assert stock_of(client, plenty) == 0
    assert stock_of(client, scarce) == 0


async def test_concurrent_orders_never_sell_more_than_the_stock(client: httpx.Client) -> None:
    sku = add_product(client, stock=5)
    body = {"customer_email": new_customer(), "items": [{"sku": sku, "quantity": 1}]}

    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10.0) as concurrent:
        responses = await asyncio.gather(
            *(concurrent.post("/orders", json=body) for _ in range(20))
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 15, [r.text for r in responses]
    assert stock_of(client, sku) == 0


def test_a_malformed_json_body_is_refused_with_a_422_problem(sqlite_client: httpx.Client) -> None:
    response = sqlite_client.post(
        "/orders",
        content=b'{"customer_email": "ada@example.com", "items": [',
        headers={"content-type": "application/json"},
    )

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["type"] == "json_invalid"
    assert error["loc"][0] == "body"


def test_an_order_with_wrong_types_is_refused_with_a_422_naming_the_field(
    sqlite_client: httpx.Client,
) -> None:
    sku = add_product(sqlite_client, stock=5)

    response = sqlite_client.post(
        "/orders",
        json={"customer_email": new_customer(), "items": [{"sku": sku, "quantity": "two"}]},
    )

    problem = assert_problem(response, 422)
    [error] = problem["errors"]
    assert error["loc"] == ["body", "items", 0, "quantity"]
    assert error["pointer"] == "#/items/0/quantity"
    assert stock_of(sqlite_client, sku) == 5


def test_a_product_with_wrong_types_is_refused_with_a_422_naming_each_field_and_not_added(
    sqlite_client: httpx.Client,
) -> None:
    sku = unique("SKU")

    response = sqlite_client.post(
        "/catalog/products",
        json={"sku": sku, "name": "Lamp", "price": "cheap", "stock": "many"},
    )

    problem = assert_problem(response, 422)
    fields = {(tuple(e["loc"]), e["pointer"]) for e in problem["errors"]}
    assert fields == {(("body", "price"), "#/price"), (("body", "stock"), "#/stock")}
    assert_problem(sqlite_client.get(f"/catalog/products/{sku}"), 404)


def test_a_declined_payment_fails_the_order_returns_the_stock_and_sends_no_notification(
    client: httpx.Client,
) -> None:
    expensive = add_product(client, price="600.00", stock=5)
    cheap = add_product(client, price="5.00", stock=5)
    email = new_customer()

    declined = place_order(client, email, (expensive, 2))  # 1200.00, above the 1000.00 limit
    assert declined.status_code == 201, declined.text
    declined_id = declined.json()["id"]

    settled = settled_order(client, declined_id)
    assert settled["status"] == "payment_failed"
    assert "1200.00" in settled["failure_reason"]
    payment = client.get(f"/billing/payments/{declined_id}").json()
    assert payment["status"] == "failed"
    assert payment["amount"] == "1200.00"
    # The reservation is given back: the declined order holds no stock.
    assert client.get(f"/catalog/products/{expensive}").json()["stock"] == 5

    # A paid order of the same customer is notified; the declined one never is.
    paid = place_order(client, email, (cheap, 1))
    assert paid.status_code == 201, paid.text
    assert settled_order(client, paid.json()["id"])["status"] == "paid"
    notifications = notifications_once_sent(client, email)
    assert [n["order_id"] for n in notifications] == [paid.json()["id"]]


def test_the_charge_limit_is_read_from_the_environment(launch_shop: LaunchShop) -> None:
    with (
        launch_shop(env={"DOLMEN__BILLING__CHARGE_LIMIT": "50.00"}) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as client,
    ):
        sku = add_product(client, price="35.00", stock=5)
        above = place_order(client, new_customer(), (sku, 2)).json()
        below = place_order(client, new_customer(), (sku, 1)).json()

        assert settled_order(client, above["id"])["status"] == "payment_failed"
        assert settled_order(client, below["id"])["status"] == "paid"


def test_adding_a_product_twice_is_refused_with_409_and_keeps_the_first(
    client: httpx.Client,
) -> None:
    sku = unique("SKU")
    first = {"sku": sku, "name": "Desk lamp", "price": "35.00", "stock": 5}
    created = client.post("/catalog/products", json=first)
    assert created.status_code == 201, created.text
    assert created.json() == first

    again = client.post(
        "/catalog/products", json={"sku": sku, "name": "Other", "price": "1.00", "stock": 99}
    )

    problem = assert_problem(again, 409)
    assert sku in problem["detail"]
    assert client.get(f"/catalog/products/{sku}").json() == first


def test_unknown_products_orders_and_payments_answer_404_problems(client: httpx.Client) -> None:
    assert_problem(client.get(f"/catalog/products/{unique('MISSING')}"), 404)
    assert_problem(client.get(f"/orders/{uuid.uuid4()}"), 404)
    assert_problem(client.get(f"/billing/payments/{uuid.uuid4()}"), 404)


def test_the_health_probes_say_the_shop_is_alive_and_its_database_ready(
    client: httpx.Client,
) -> None:
    alive = client.get("/healthz")
    assert alive.status_code == 200
    assert alive.json() == {"status": "ok"}

    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()
    assert checks.pop("status") == "ready"
    assert checks.pop("database") == "ok"
    assert all(state == "ok" for state in checks.values())  # a unit's broker, split over one


def test_the_openapi_document_lists_every_shop_route(sqlite_client: httpx.Client) -> None:
    response = sqlite_client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in SHOP_PATHS.items():
        assert path in paths
        assert methods <= set(paths[path]), path


def test_each_shop_route_documents_every_status_it_answers_with_its_media_type(
    sqlite_client: httpx.Client,
) -> None:
    document = sqlite_client.get("/openapi.json").json()
    problems = {"400", "413", "422", "500"}  # what any route with a body may answer
    expected = {
        ("/catalog/products", "post"): {"201", "409"} | problems,
        ("/catalog/products/{sku}", "get"): {"200", "404", "422", "500"},
        ("/orders", "post"): {"201", "404", "409"} | problems,
        ("/orders/{order_id}", "get"): {"200", "404", "422", "500"},
        ("/billing/payments/{order_id}", "get"): {"200", "404", "422", "500"},
        ("/notifications", "get"): {"200", "422", "500"},
    }
    for (path, method), statuses in expected.items():
        responses = document["paths"][path][method]["responses"]
        assert set(responses) == statuses, (path, method)
        for status in statuses - {"200", "201"}:
            assert list(responses[status]["content"]) == ["application/problem+json"], status


def test_the_openapi_document_gives_the_real_bounds_of_a_product(
    sqlite_client: httpx.Client,
) -> None:
    schema = sqlite_client.get("/openapi.json").json()["components"]["schemas"]["NewProduct"]
    price, stock = schema["properties"]["price"], schema["properties"]["stock"]

    assert price["type"] == "string"
    assert not re.search(price["pattern"], "")
    assert not re.search(price["pattern"], "0.00")
    assert re.search(price["pattern"], "99999999.99")
    assert not re.search(price["pattern"], "100000000.00")
    assert (stock["minimum"], stock["maximum"]) == (0, 1_000_000_000)


def test_the_api_docs_page_is_served_as_html(sqlite_client: httpx.Client) -> None:
    response = sqlite_client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text
