"""Request bodies past ``[app] max_body_bytes`` are refused with 413, before they are read whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from shop.app import create_app as create_shop
from starlette.types import Message

from dolmen import App

from .http_app import make_app

MIB = 1024 * 1024


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    app = make_app(database_url)
    async with app.running():
        yield app


def client_for(app: App) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app.asgi())
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def json_body_of(size: int) -> bytes:
    """A JSON item whose encoding is exactly ``size`` bytes."""
    empty = json.dumps({"sku": "BIG", "name": ""}).encode()
    return json.dumps({"sku": "BIG", "name": "x" * (size - len(empty))}).encode()


async def test_a_2_mb_body_is_refused_with_a_413_problem_and_nothing_is_stored(app: App) -> None:
    async with client_for(app) as client:
        response = await client.post(
            "/items", content=json_body_of(2_000_000), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == {
            "type": "about:blank",
            "title": "Request Entity Too Large",
            "status": 413,
            "detail": "The request body is larger than 1048576 bytes, the most this server "
            "accepts; send a smaller body.",
        }
        assert (await client.get("/items/count")).json() == {"count": 0}


async def test_a_body_just_under_the_default_limit_is_processed(app: App) -> None:
    async with client_for(app) as client:
        response = await client.post("/items/measure", content=b"x" * (MIB - 1))
        assert response.status_code == 200
        assert response.json() == {"bytes": MIB - 1}


async def test_the_limit_is_a_setting_and_a_body_of_exactly_the_limit_passes(
    database_url: str,
) -> None:
    app = make_app(database_url, max_body_bytes=1000)
    async with app.running(), client_for(app) as client:
        assert (await client.post("/items/measure", content=b"x" * 1000)).json() == {"bytes": 1000}
        assert (await client.post("/items/measure", content=b"x" * 1001)).status_code == 413


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(database_url: str) -> None:
    app = make_app(database_url, max_body_bytes=100_000)
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):  # 10 MB if it were all read
            pulled += 1
            yield b"x" * 10_000

    async with app.running(), client_for(app) as client:
        response = await client.post("/items/measure", content=chunks())
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
    # 100,000 bytes are 10 chunks; the 11th passes the limit and nothing more is read.
    assert pulled == 11


async def test_a_content_length_past_the_limit_is_answered_without_reading_the_body(
    tmp_path: Path,
) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'x.db'}")
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body was read")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/items", "raw_path": b"/items", "root_path": "",
        "query_string": b"", "server": ("test", 80), "client": ("127.0.0.1", 1),
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"),
                    (b"content-length", str(2 * MIB).encode())],
    }  # fmt: skip
    async with app.running():
        await app.asgi()(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 413


async def test_the_shop_refuses_a_2_mb_product_with_413(database_url: str) -> None:
    shop = create_shop({"app": {"database_url": database_url}})
    product = {"sku": "HUGE", "name": "x" * 2_000_000, "price": "1.00", "stock": 1}
    async with shop.running(), client_for(shop) as client:
        response = await client.post("/catalog/products", json=product)
        assert response.status_code == 413
        assert (await client.get("/catalog/products/HUGE")).status_code == 404
