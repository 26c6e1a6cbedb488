"""The shop refuses what it cannot store with a 422 naming the field, on SQLite and PostgreSQL.

Every value a client sends either fits its column and comes back exactly as sent, or is
refused at the edge with a problem naming the field: never a 500, and never an order that is
accepted and then stays ``pending`` because billing cannot store its payment.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.test_shop_http import (
    add_product,
    assert_problem,
    new_customer,
    place_order,
    settled_order,
    stock_of,
    unique,
)

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchShop

MAX_PRICE = "99999999.99"
MAX_STOCK = 1_000_000_000


def refused(response: httpx.Response, *where: str | int) -> dict[str, Any]:
    """A 422 problem whose errors name the field at ``where`` (e.g. "body", "price")."""
    problem = assert_problem(response, 422)
    named = [error["loc"] for error in problem["errors"]]
    assert list(where) in named, problem
    return problem


def post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    """POST ``body`` as JSON with non-ASCII characters escaped (so a lone surrogate can travel)."""
    return client.post(path, content=json.dumps(body), headers={"content-type": "application/json"})


def product(sku: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"sku": sku or unique("SKU"), "name": "Desk lamp", "price": "35.00", "stock": 5}
    body.update(fields)
    return body


@pytest.mark.parametrize("price", ["21474836.48", MAX_PRICE, "0.01", "35.10"])
def test_a_price_up_to_the_maximum_is_stored_exactly(client: httpx.Client, price: str) -> None:
    body = product(price=price)

    created = post(client, "/catalog/products", body)

    assert created.status_code == 201, created.text
    assert created.json() == body
    assert client.get(f"/catalog/products/{body['sku']}").json() == body


def test_a_price_is_stored_and_shown_with_two_decimal_places(client: httpx.Client) -> None:
    body = product(price="35.5")

    created = post(client, "/catalog/products", body)

    assert created.status_code == 201, created.text
    assert created.json()["price"] == "35.50"
    assert client.get(f"/catalog/products/{body['sku']}").json()["price"] == "35.50"


@pytest.mark.parametrize(
    "price",
    [
        "100000000.00",
        "0",
        "0.00",
        "-1.00",
        "1.001",
        "",
        " 1.00",
        "1e3",
        "NaN",
        "Infinity",
        35,
        35.5,
    ],
)
def test_a_price_out_of_bounds_or_not_a_decimal_string_is_refused_with_422(
    client: httpx.Client, price: object
) -> None:
    body = product(price=price)

    refused(post(client, "/catalog/products", body), "body", "price")
    assert_problem(client.get(f"/catalog/products/{body['sku']}"), 404)


def test_a_stock_up_to_the_maximum_is_stored_exactly(client: httpx.Client) -> None:
    body = product(stock=MAX_STOCK)

    created = post(client, "/catalog/products", body)

    assert created.status_code == 201, created.text
    assert stock_of(client, body["sku"]) == MAX_STOCK


@pytest.mark.parametrize("stock", [MAX_STOCK + 1, 2**31, 2**63, -1])
def test_a_stock_out_of_bounds_is_refused_with_422(client: httpx.Client, stock: int) -> None:
    body = product(stock=stock)

    refused(post(client, "/catalog/products", body), "body", "stock")
    assert_problem(client.get(f"/catalog/products/{body['sku']}"), 404)


@pytest.mark.parametrize("name", ["Desk\x00lamp", "Desk\nlamp", "Desk\x7flamp", "\ud800"])
def test_a_product_name_with_control_characters_is_refused_with_422(
    client: httpx.Client, name: str
) -> None:
    body = product(name=name)

    refused(post(client, "/catalog/products", body), "body", "name")
    assert_problem(client.get(f"/catalog/products/{body['sku']}"), 404)


def test_a_sku_with_a_nul_byte_is_refused_with_422(client: httpx.Client) -> None:
    refused(post(client, "/catalog/products", product(sku="SKU\x00")), "body", "sku")


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/catalog/products/%00", ["path", "sku"]),
        ("/catalog/products/SKU%00", ["path", "sku"]),
        ("/orders/%00", ["path", "order_id"]),
        ("/orders/not-an-order-id", ["path", "order_id"]),
        ("/billing/payments/%00", ["path", "order_id"]),
        ("/billing/payments/not-an-order-id", ["path", "order_id"]),
        ("/notifications?email=%00", ["query", "email"]),
        ("/notifications?email=ada%00@example.com", ["query", "email"]),
        ("/notifications?email=ada%0A@example.com", ["query", "email"]),
    ],
)
def test_a_path_or_query_parameter_that_cannot_be_stored_is_refused_with_422(
    client: httpx.Client, path: str, where: list[str]
) -> None:
    refused(client.get(path), *where)


def test_an_order_id_is_found_in_any_uuid_spelling(client: httpx.Client) -> None:
    sku = add_product(client)
    placed = place_order(client, new_customer(), (sku, 1))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]

    found = client.get(f"/orders/{order_id.upper()}")

    assert found.status_code == 200, found.text
    assert found.json()["id"] == order_id


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"sku": "SKU\x00", "quantity": 1}, "sku"),
        ({"sku": "", "quantity": 1}, "sku"),
        ({"sku": "SKU-1", "quantity": 0}, "quantity"),
        ({"sku": "SKU-1", "quantity": 10_001}, "quantity"),
        ({"sku": "SKU-1", "quantity": 2**63}, "quantity"),
    ],
)
def test_an_order_item_that_cannot_be_stored_is_refused_with_422(
    client: httpx.Client, item: dict[str, Any], field: str
) -> None:
    sku = add_product(client, stock=5)
    body = {"customer_email": new_customer(), "items": [{"sku": sku, "quantity": 1}, item]}

    refused(post(client, "/orders", body), "body", "items", 1, field)
    assert stock_of(client, sku) == 5


@pytest.mark.parametrize(
    "email", ["ada\x00@example.com", "ada@exam\x00ple.com", "ada\x1b@example.com", "\ud800@a.io"]
)
def test_a_customer_email_with_control_characters_is_refused_with_422(
    client: httpx.Client, email: str
) -> None:
    sku = add_product(client, stock=5)
    body = {"customer_email": email, "items": [{"sku": sku, "quantity": 1}]}

    refused(post(client, "/orders", body), "body", "customer_email")
    assert stock_of(client, sku) == 5


def test_an_order_of_more_than_100_items_is_refused_with_422(client: httpx.Client) -> None:
    sku = add_product(client, stock=500)
    items = [{"sku": sku, "quantity": 1}] * 101

    response = client.post("/orders", json={"customer_email": new_customer(), "items": items})

    refused(response, "body", "items")
    assert stock_of(client, sku) == 500


def test_an_order_whose_total_the_shop_cannot_charge_is_refused_with_422_reserving_nothing(
    client: httpx.Client,
) -> None:
    dear = add_product(client, price=MAX_PRICE, stock=1_000)
    cheap = add_product(client, price="1.00", stock=5)

    # 100 x 99,999,999.99 = 9,999,999,999.00 fits; one more unit takes the total past
    # 9,999,999,999.99, the most one order may cost.
    response = place_order(client, new_customer(), (cheap, 1), (dear, 101))

    problem = refused(response, "body", "items")
    assert "9999999999.99" in problem["errors"][0]["detail"]
    assert stock_of(client, dear) == 1_000
    assert stock_of(client, cheap) == 5


def test_an_order_above_the_int32_range_is_settled_never_left_pending(
    client: httpx.Client,
) -> None:
    sku = add_product(client, price="21474836.48", stock=5)

    placed = place_order(client, new_customer(), (sku, 2))

    assert placed.status_code == 201, placed.text
    order = settled_order(client, placed.json()["id"])
    assert order["status"] == "payment_failed"  # above the default charge limit of 1000.00
    assert order["total"] == "42949672.96"
    payment = client.get(f"/billing/payments/{order['id']}").json()
    assert (payment["status"], payment["amount"]) == ("failed", "42949672.96")
    assert stock_of(client, sku) == 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def generous_shop(request: pytest.FixtureRequest, launch_shop: LaunchShop) -> Iterator[str]:
    """A shop whose gateway charges any amount, on each database; yields its URL."""
    env = {"DOLMEN__BILLING__CHARGE_LIMIT": "9999999999.99"}
    if request.param == "sqlite":
        with launch_shop(env=env) as server:
            yield server.url
        return
    with fresh_postgres_database("dolmen_e2e") as url, launch_shop(url, env) as server:
        yield server.url


def test_the_largest_order_is_paid_and_its_amount_kept_to_the_cent(generous_shop: str) -> None:
    with httpx.Client(base_url=generous_shop, timeout=10.0) as client:
        dear = add_product(client, price=MAX_PRICE, stock=100)
        cheap = add_product(client, price="0.98", stock=5)
        email = new_customer()

        # 99 x 99,999,999.99 + 0.98 = 9,899,999,999.99: twelve significant digits.
        placed = place_order(client, email, (dear, 99), (cheap, 1))

        assert placed.status_code == 201, placed.text
        order = settled_order(client, placed.json()["id"])
        assert (order["status"], order["total"]) == ("paid", "9899999999.99")
        payment = client.get(f"/billing/payments/{order['id']}").json()
        assert (payment["status"], payment["amount"]) == ("captured", "9899999999.99")


async def test_concurrent_adds_of_one_sku_give_one_201_and_409_for_the_others(
    client: httpx.Client,
) -> None:
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30.0) as concurrent:
        for _ in range(5):
            body = product(price="12.00", stock=3)
            responses = await asyncio.gather(
                *(concurrent.post("/catalog/products", json=body) for _ in range(20))
            )

            statuses = sorted(response.status_code for response in responses)
            assert statuses == [201] + [409] * 19, [r.text for r in responses]
            for response in responses:
                if response.status_code == 409:
                    assert body["sku"] in assert_problem(response, 409)["detail"]
            assert (await concurrent.get(f"/catalog/products/{body['sku']}")).json() == body


def test_an_unknown_order_is_a_404_naming_it(client: httpx.Client) -> None:
    missing = str(uuid.uuid4())

    assert missing in assert_problem(client.get(f"/orders/{missing}"), 404)["detail"]
    assert missing in assert_problem(client.get(f"/billing/payments/{missing}"), 404)["detail"]
