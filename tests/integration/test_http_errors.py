"""Request ids, and a crash logged once: served by a real uvicorn server, in this process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from dolmen import App

from .http_app import make_app

CRASH_DETAIL = (
    "The server could not complete the request; the error was logged. "
    "Quote the request_id when you report it."
)


@contextlib.asynccontextmanager
async def served(app: App) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` served by uvicorn on a free port (lifespan included), and a client for it.

    ``log_config=None`` leaves logging alone, so uvicorn's own records reach caplog.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    pytest.fail("uvicorn stopped before it started")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        await serving


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.exc_info]


async def test_a_500_is_logged_once_with_its_request_id_and_route(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(make_app(database_url)) as client:
        response = await client.get("/items/LAMP/explode", headers={"X-Request-ID": "req-42"})
        assert (await client.get("/healthz")).status_code == 200  # the server is fine
    [record] = tracebacks(caplog)
    assert "exploded on LAMP" in caplog.text
    assert record.getMessage() == (
        "unhandled error in GET /items/{sku}/explode (request id req-42)"
    )
    assert record.__dict__["request_id"] == "req-42"
    assert record.__dict__["route"] == "/items/{sku}/explode"
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-42"
    assert response.json() == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": CRASH_DETAIL,
        "request_id": "req-42",
    }
    assert "exploded on LAMP" not in response.text


async def test_an_error_after_the_response_started_is_logged_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(make_app(database_url)) as client:
        with pytest.raises(httpx.RemoteProtocolError):  # the server cuts the response short
            await client.get("/items/stream/3")
        assert (await client.get("/healthz")).status_code == 200
    [record] = tracebacks(caplog)
    assert record.getMessage().startswith(
        "unhandled error in GET /items/stream/{count} after the response started (request id "
    )


async def test_a_crash_rolls_back_what_the_request_wrote(database_url: str) -> None:
    async with served(make_app(database_url)) as client:
        response = await client.post("/items/then-explode", json={"sku": "A", "name": "a"})
        assert response.status_code == 500
        assert (await client.get("/items/count")).json() == {"count": 0}


async def test_every_response_carries_a_request_id_the_client_can_quote(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running():
        transport = httpx.ASGITransport(app=app.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = (await client.get("/healthz")).headers["x-request-id"]
            second = (await client.get("/items/count")).headers["x-request-id"]
            assert len(first) == len(second) == 32
            assert first != second
            assert (await client.get("/nowhere")).headers["x-request-id"]

            sent = {"X-Request-ID": "3f2a-edge:17"}
            assert (await client.get("/healthz", headers=sent)).headers["x-request-id"] == (
                "3f2a-edge:17"
            )
            for unusable in ["x" * 129, "two words", ""]:
                answer = await client.get("/healthz", headers={"X-Request-ID": unusable})
                assert len(answer.headers["x-request-id"]) == 32, unusable
