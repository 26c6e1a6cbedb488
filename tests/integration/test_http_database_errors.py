"""Database errors the request's values cause are 409 and 422 problems, never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from dolmen import App

from .http_app import make_app

CONFLICT = (
    "The request conflicts with data that already exists: a value that must be unique is "
    "taken. Nothing was changed; use another value, or change the existing resource."
)
AGAIN = " Nothing was changed; correct the value and send the request again."
OUT_OF_RANGE = (
    "A value in the request could not be stored: a number is out of the range the database "
    "can store." + AGAIN
)
BAD_CHARACTER = (
    "A value in the request could not be stored: a text contains a character the database "
    "cannot store (a NUL character, \\u0000, or an unpaired surrogate)." + AGAIN
)
TOO_LONG = (
    "A value in the request could not be stored: a text is longer than the database can "
    "store." + AGAIN
)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app: App = make_app(database_url)
    async with app.running():
        transport = httpx.ASGITransport(app=app.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def post(client: httpx.AsyncClient, path: str, item: dict[str, object]) -> httpx.Response:
    """POST ``item`` as ASCII JSON: a lone surrogate travels as the escape ``\\ud800``."""
    body = json.dumps(item).encode()
    return await client.post(path, content=body, headers={"content-type": "application/json"})


async def count(client: httpx.AsyncClient) -> int:
    return int((await client.get("/items/count")).json()["count"])


def assert_problem(response: httpx.Response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status
    assert response.json()["detail"] == detail


@pytest.mark.parametrize("path", ["/items", "/items/at-commit"])
async def test_a_duplicate_key_is_a_409_whether_it_fails_at_once_or_at_commit(
    client: httpx.AsyncClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await client.post(path, json={"sku": "LAMP", "name": "Lamp"})).status_code == 201
    caplog.set_level(logging.INFO, logger="dolmen.http")
    same_sku = await client.post(path, json={"sku": "LAMP", "name": "Other lamp"})
    assert_problem(same_sku, 409, CONFLICT)
    same_name = await client.post(path, json={"sku": "DESK", "name": "Lamp"})  # unique column
    assert_problem(same_name, 409, CONFLICT)
    assert await count(client) == 1
    assert not [record for record in caplog.records if record.exc_info]
    assert "the database refused POST " + path + " with 409 (request id " in caplog.text


async def test_of_20_concurrent_inserts_of_one_key_one_wins_and_the_others_get_409(
    client: httpx.AsyncClient,
) -> None:
    for round_ in range(3):
        requests = [
            client.post("/items", json={"sku": f"RACE{round_}", "name": f"Race {round_} #{n}"})
            for n in range(20)
        ]
        statuses = sorted(response.status_code for response in await asyncio.gather(*requests))
        assert statuses == [201] + [409] * 19
    assert await count(client) == 3


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"sku": "BIG", "name": "Big", "stock": 2**63}, OUT_OF_RANGE),
        ({"sku": "BAD", "name": "\ud800"}, BAD_CHARACTER),
    ],
    ids=["int-past-64-bits", "lone-surrogate"],
)
@pytest.mark.parametrize("path", ["/items", "/items/at-commit"])
async def test_a_value_no_database_can_store_is_a_422(
    client: httpx.AsyncClient,
    path: str,
    item: dict[str, object],
    detail: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="dolmen.http"):
        response = await post(client, path, item)
    assert_problem(response, 422, detail)
    assert await count(client) == 0
    assert not [record for record in caplog.records if record.exc_info]
    assert f"the database refused POST {path} with 422 (request id " in caplog.text


@pytest.mark.parametrize(
    ("item", "detail"),
    [
        ({"sku": "INT32", "name": "Int32", "stock": 2**31}, OUT_OF_RANGE),
        ({"sku": "PRICE", "name": "Price", "price": "123456789.00"}, OUT_OF_RANGE),
        ({"sku": "NUL", "name": "a\x00b"}, BAD_CHARACTER),
        ({"sku": "LONG", "name": "x" * 51}, TOO_LONG),
    ],
    ids=["int-past-32-bits", "numeric-precision", "nul-character", "text-past-varchar"],
)
async def test_a_value_postgresql_cannot_store_is_a_422_there(
    database_url: str, client: httpx.AsyncClient, item: dict[str, object], detail: str
) -> None:
    response = await post(client, "/items", item)
    if database_url.startswith("sqlite"):
        assert response.status_code == 201  # SQLite stores these as they are
        return
    assert_problem(response, 422, detail)
    assert await count(client) == 0


async def test_a_nul_character_in_a_path_is_a_422_on_postgresql(
    database_url: str, client: httpx.AsyncClient
) -> None:
    response = await client.get("/items/a%00b")
    if database_url.startswith("sqlite"):
        assert response.status_code == 200
        return
    assert_problem(response, 422, BAD_CHARACTER)
