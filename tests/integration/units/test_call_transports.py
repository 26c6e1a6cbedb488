"""The calls' pooled transport on a real loopback socket: aiohttp's and httpx's own alike.

Each test runs on both transports a unit may send its calls through (aiohttp's with
``dolmen[fast]``, httpcore's without), against small asyncio servers that answer, stay
silent or hang up as told. What a call does next depends on telling "the request never left"
(safe to send again) from "it may have run there": both transports must say the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

import httpx
import pytest
from shop.catalog.api import CatalogService, StockRequest

from dolmen.units import RemoteCallError
from dolmen.units._aiohttp_transport import AiohttpTransport
from dolmen.units._remote_client import pooled_transport
from tests.units_calls import unit_app

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
TIMEOUT = httpx.Timeout(0.3)


@pytest.fixture(params=["aiohttp", "httpcore"])
def use_aiohttp(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "aiohttp")


@contextlib.asynccontextmanager
async def listening(handler: Handler) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server on a free port of 127.0.0.1 running ``handler`` per connection: its URL, and
    an event set when the test ends (handlers that hold a connection wait for it). Every
    connection is closed and every handler ended before it returns."""
    ended = asyncio.Event()
    handlers: list[asyncio.Task[None]] = []
    writers: list[asyncio.StreamWriter] = []

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(cast(asyncio.Task[None], asyncio.current_task()))
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await handler(reader, writer)

    server = await asyncio.start_server(run, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", ended
    finally:
        ended.set()
        server.close()
        for writer in writers:
            writer.close()
        await asyncio.gather(*handlers, return_exceptions=True)
        for writer in writers:
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's head and body (its content-length), as received."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


def post(
    url: str, body: bytes = b'{"sku":"LAMP"}', timeout: httpx.Timeout = TIMEOUT
) -> httpx.Request:
    return httpx.Request(
        "POST",
        f"{url}/_units/call/catalog/CatalogService/get_product",
        headers={"content-type": "application/json", "x-dolmen-nonce": "n1"},
        content=body,
        extensions={"timeout": timeout.as_dict()},
    )


def test_the_transport_is_aiohttp_s_when_installed_and_httpx_s_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert isinstance(pooled_transport(), AiohttpTransport)  # dolmen[fast] (dev) has aiohttp
    assert isinstance(pooled_transport(aiohttp=False), httpx.AsyncHTTPTransport)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *more: None)  # not installed
    assert isinstance(pooled_transport(), httpx.AsyncHTTPTransport)


async def test_a_request_and_its_answer_cross_whole(use_aiohttp: bool) -> None:
    received: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(2):  # two requests on one kept-alive connection
            received.append(await read_request(reader))
            writer.write(ANSWER + b'{"ok":true}')
            await writer.drain()
        writer.close()

    transport = pooled_transport(aiohttp=use_aiohttp)
    try:
        async with listening(answer) as (url, _):
            first = await transport.handle_async_request(post(url))
            await first.aread()
            second = await transport.handle_async_request(post(url, b'{"sku":"DESK"}'))
            await second.aread()
    finally:
        await transport.aclose()

    assert (first.status_code, first.json()) == (200, {"ok": True})
    assert first.headers["content-type"] == "application/json"
    assert second.json() == {"ok": True}
    head, _, body = received[1].partition(b"\r\n\r\n")
    assert body == b'{"sku":"DESK"}'
    lines = head.lower().split(b"\r\n")
    assert lines[0] == b"post /_units/call/catalog/catalogservice/get_product http/1.1"
    assert b"x-dolmen-nonce: n1" in lines
    assert b"content-length: 14" in lines


async def test_a_refused_connection_never_left(use_aiohttp: bool) -> None:
    async def answer_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pass

    async with listening(answer_nothing) as (url, _):
        pass  # closed: nothing listens there any more
    transport = pooled_transport(aiohttp=use_aiohttp)
    try:
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(post(url))
    finally:
        await transport.aclose()


async def test_a_silent_unit_is_a_read_timeout(use_aiohttp: bool) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    transport = pooled_transport(aiohttp=use_aiohttp)
    try:
        async with listening(silent) as (url, _):
            with pytest.raises(httpx.ReadTimeout):
                await transport.handle_async_request(post(url))
    finally:
        await transport.aclose()


async def test_a_unit_that_hangs_up_after_the_request_may_have_run_it(use_aiohttp: bool) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()

    transport = pooled_transport(aiohttp=use_aiohttp)
    try:
        async with listening(hang_up) as (url, _):
            with pytest.raises(httpx.TransportError) as lost:
                await transport.handle_async_request(post(url))
    finally:
        await transport.aclose()

    never_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
    assert not isinstance(lost.value, never_sent)


async def test_a_full_pool_makes_the_next_request_wait_then_time_out(use_aiohttp: bool) -> None:
    held = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        held.set()
        await ended.wait()

    limits = httpx.Limits(max_connections=1, keepalive_expiry=4.0)
    transport: httpx.AsyncBaseTransport = (
        AiohttpTransport(limits=limits)
        if use_aiohttp
        else httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    )
    try:
        async with listening(hold) as (url, ended):
            waiting = post(url, timeout=httpx.Timeout(None))  # held until the test ends
            first = asyncio.create_task(transport.handle_async_request(waiting))
            await held.wait()  # the one connection is taken
            with pytest.raises((httpx.PoolTimeout, httpx.ConnectTimeout)):
                await transport.handle_async_request(post(url))
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.TransportError):
                await first
    finally:
        await transport.aclose()


async def test_a_call_to_a_unit_that_hangs_up_is_not_repeated_unless_idempotent(
    tmp_path: Path, use_aiohttp: bool
) -> None:
    requests: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await read_request(reader))
        writer.close()

    async def no_wait(seconds: float) -> None:
        pass

    async with listening(hang_up) as (url, _):
        orders, _ = unit_app(
            "orders",
            f"sqlite:///{tmp_path / 'orders.db'}",
            catalog_url=url,
            transport=pooled_transport(aiohttp=use_aiohttp),
            sleep=no_wait,
            units={"call_retries": 2},
        )
        async with orders.running(), orders.unit_of_work("orders") as work:
            catalog = await work.get(CatalogService)
            with pytest.raises(RemoteCallError, match="may have run there"):
                await catalog.reserve([StockRequest(sku="LAMP", quantity=1)], "order-1")
            assert len(requests) == 1  # reserve is not idempotent: sent once
            with pytest.raises(RemoteCallError, match="3 attempts"):
                await catalog.get_product("LAMP")
            assert len(requests) == 1 + 3  # get_product is: sent again twice


def answer_of(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
    return head.encode() + b"content-length: %d\r\n\r\n" % len(body) + body


async def test_a_call_s_result_and_refusal_come_back_alike_through_either_transport(
    tmp_path: Path, use_aiohttp: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = b'{"sku":"LAMP","name":"Lamp","price":"35.00","stock":5}'
    refusal = b'{"status":409,"detail":"the shelf is being counted","request_id":"r-1"}'
    answers = [answer_of("200 OK", product), answer_of("409 Conflict", refusal)]

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            await read_request(reader)
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    async def no_httpx_objects(*_: object) -> None:
        raise AssertionError("a call through aiohttp makes no httpx.Request nor Response")

    if use_aiohttp:  # its calls go through post_call
        monkeypatch.setattr(AiohttpTransport, "handle_async_request", no_httpx_objects)
    async with listening(answer) as (url, _):
        orders, _ = unit_app(
            "orders",
            f"sqlite:///{tmp_path / 'orders.db'}",
            catalog_url=url,
            transport=pooled_transport(aiohttp=use_aiohttp),
        )
        async with orders.running(), orders.unit_of_work("orders", write=False) as work:
            catalog = await work.get(CatalogService)
            view = await catalog.get_product("LAMP")
            with pytest.raises(RemoteCallError) as refused:
                await catalog.get_product("LAMP")

    assert (view.sku, view.stock, str(view.price)) == ("LAMP", 5, "35.00")
    assert refused.value.status == 409
    assert str(refused.value) == (
        "unit 'catalog' answered the call catalog.CatalogService.get_product with 409: "
        "the shelf is being counted (request id r-1 in its logs)"
    )


async def test_a_readiness_ping_goes_through_the_pooled_client(use_aiohttp: bool) -> None:
    async def healthy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER + b'{"ok":true}')
        await writer.drain()
        writer.close()

    async with (
        listening(healthy) as (url, _),
        httpx.AsyncClient(transport=pooled_transport(aiohttp=use_aiohttp)) as client,
    ):
        response = await client.get(f"{url}/healthz", timeout=1.0)

    assert response.status_code == 200
    assert response.json() == {"ok": True}


def _whole_request(received: bytes) -> int | None:
    """The length of the first request in ``received`` once it is all there, else None."""
    head, found, rest = received.partition(b"\r\n\r\n")
    if not found:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(head) + 4 + length if len(rest) >= length else None


class ClosingServer:
    """A server in a thread of its own: answers each request on a kept-alive connection,
    and closes the current connection when told (:meth:`close_idle`), at once: the close
    has reached the client's socket when it returns, before the client's loop has run."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.requests = 0
        self._closing = threading.Event()
        self._closed = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.listener.settimeout(0.05)
        while not self._stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(0.05)
                received = b""
                while not self._closing.is_set():
                    try:
                        data = connection.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    received += data
                    while (whole := _whole_request(received)) is not None:
                        received = received[whole:]
                        self.requests += 1
                        connection.sendall(ANSWER + b'{"ok":true}')
            self._closing.clear()
            self._closed.set()

    def close_idle(self) -> None:
        self._closing.set()
        assert self._closed.wait(5)
        self._closed.clear()

    def stop(self) -> None:
        self._stopped.set()
        self._closing.set()
        self._thread.join(5)
        self.listener.close()


async def test_an_idle_connection_the_unit_closed_is_not_used_for_a_call(
    use_aiohttp: bool,
) -> None:
    server = ClosingServer()
    transport = pooled_transport(aiohttp=use_aiohttp)
    try:
        first = await transport.handle_async_request(post(server.url))
        await first.aread()
        server.close_idle()  # the unit restarts: its close is waiting on the idle connection

        second = await transport.handle_async_request(post(server.url))  # not idempotent
        await second.aread()
    finally:
        await transport.aclose()
        server.stop()

    assert second.status_code == 200
    assert (server.connections, server.requests) == (2, 2)  # a new connection, sent once
