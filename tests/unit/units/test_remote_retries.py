"""What a call across units does when the network fails: retried only where it is safe.

The network is an ``httpx.MockTransport`` that fails as told, and the wait between attempts
is recorded, not slept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from shop.catalog.api import CatalogService, StockRequest

from dolmen.observability._context import RequestContext, enter, leave
from dolmen.units import RemoteCallError, RemoteCalls, RemoteCallTimeout
from dolmen.units._signing import NONCE_HEADER, Verifier
from tests.units_calls import SECRET, unit_app

RETRIES = 2
LAMP = {"sku": "LAMP", "name": "Lamp", "price": "35.00", "stock": 5}


class Network:
    """A fake network: answers each request with the next of ``outcomes``, and records them."""

    def __init__(self, *outcomes: Callable[[httpx.Request], httpx.Response]) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        return outcome(request)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def drop(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("server disconnected", request=request)


def answer(status: int, body: object) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def remote_calls(tmp_path: Path, network: Network) -> RemoteCalls:
    _, remote = unit_app(
        "orders",
        f"sqlite:///{tmp_path / 'orders.db'}",
        transport=httpx.MockTransport(network.handle),
        sleep=network.sleep,
        units={"call_retries": RETRIES, "call_timeout_seconds": 1.5},
    )
    return remote


def catalog(remote: RemoteCalls) -> CatalogService:
    return cast(CatalogService, remote.client("catalog", CatalogService))  # made from it


async def test_a_call_that_cannot_connect_is_retried_even_if_not_idempotent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    network = Network(refuse_connection, refuse_connection, answer(200, []))
    remote = remote_calls(tmp_path, network)

    assert await catalog(remote).reserve([], "r-1") == []

    assert len(network.requests) == RETRIES + 1
    assert network.waits == [0.05, 0.1]
    nonces = {r.headers[NONCE_HEADER] for r in network.requests}
    assert len(nonces) == RETRIES + 1  # each attempt signed anew: the callee sees no replay
    retried = [r.getMessage() for r in caplog.records if r.name == "dolmen.units"]
    assert retried == [
        "the call catalog.CatalogService.reserve to unit 'catalog' failed (ConnectError); "
        f"attempt {n} of {RETRIES + 1} next"
        for n in (2, 3)
    ]


async def test_a_unit_that_never_answers_is_a_clear_error(tmp_path: Path) -> None:
    network = Network(refuse_connection)
    remote = remote_calls(tmp_path, network)

    with pytest.raises(
        RemoteCallError, match=r"could not reach unit .catalog. at http://catalog\.test"
    ):
        await catalog(remote).reserve([], "r-1")

    assert len(network.requests) == RETRIES + 1


@pytest.mark.parametrize("failure", [time_out, drop, answer(503, {"detail": "starting"})])
async def test_a_call_that_may_have_run_is_not_retried_unless_idempotent(
    tmp_path: Path, failure: Callable[[httpx.Request], httpx.Response]
) -> None:
    network = Network(failure, answer(200, []))
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallError):
        await catalog(remote).reserve([StockRequest(sku="LAMP", quantity=1)], "r-1")

    assert len(network.requests) == 1
    assert network.waits == []


@pytest.mark.parametrize("failure", [time_out, drop, answer(503, {"detail": "starting"})])
async def test_an_idempotent_call_is_retried_after_a_failure_that_may_have_run(
    tmp_path: Path, failure: Callable[[httpx.Request], httpx.Response]
) -> None:
    network = Network(failure, answer(200, LAMP))
    remote = remote_calls(tmp_path, network)

    product = await catalog(remote).get_product("LAMP")

    assert product.stock == 5
    assert len(network.requests) == 2


async def test_a_timeout_names_the_unit_the_method_and_the_setting(tmp_path: Path) -> None:
    network = Network(time_out)
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallTimeout) as raised:
        await catalog(remote).reserve([], "r-1")

    message = str(raised.value)
    assert "the call catalog.CatalogService.reserve to unit 'catalog'" in message
    assert "timed out after 1.5 s ([units] call_timeout_seconds)" in message
    assert isinstance(raised.value, TimeoutError)


async def test_an_idempotent_call_gives_up_after_its_retries(tmp_path: Path) -> None:
    network = Network(time_out)
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallTimeout, match=f"{RETRIES + 1} attempts"):
        await catalog(remote).get_product("LAMP")

    assert len(network.requests) == RETRIES + 1


async def test_a_500_is_not_retried_even_when_idempotent(tmp_path: Path) -> None:
    network = Network(answer(500, {"detail": "crashed", "request_id": "r-1"}), answer(200, LAMP))
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallError, match=r"with 500: crashed .*request id r-1") as raised:
        await catalog(remote).get_product("LAMP")

    assert raised.value.status == 500
    assert len(network.requests) == 1


async def test_a_refused_signature_says_to_check_the_secret(tmp_path: Path) -> None:
    network = Network(answer(401, {"detail": "the call's signature does not match"}))
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallError, match=r"same \[units\] secret"):
        await catalog(remote).get_product("LAMP")


async def test_an_answer_that_does_not_fit_the_annotation_is_a_clear_error(tmp_path: Path) -> None:
    network = Network(answer(200, {"sku": "LAMP"}))
    remote = remote_calls(tmp_path, network)

    with pytest.raises(RemoteCallError, match="does not fit its return annotation"):
        await catalog(remote).get_product("LAMP")


async def test_a_call_is_signed_and_carries_the_trace_context_and_request_id(
    tmp_path: Path,
) -> None:
    network = Network(answer(200, LAMP))
    remote = remote_calls(tmp_path, network)
    parent = SpanContext(0xABC, 0xDEF, False, TraceFlags(TraceFlags.SAMPLED))
    token = enter(RequestContext({}, "request-42", {}))
    try:
        with trace.use_span(NonRecordingSpan(parent)):
            await catalog(remote).get_product("LAMP")
    finally:
        leave(token)

    (request,) = network.requests
    assert request.headers["traceparent"] == f"00-{0xABC:032x}-{0xDEF:016x}-01"
    assert request.headers["x-request-id"] == "request-42"
    assert request.url.path == "/_units/call/catalog/CatalogService/get_product"
    Verifier(SECRET.encode()).verify("POST", request.url.path, request.headers, request.content)
    assert request.headers["host"] == "catalog.test"
    assert request.headers["content-length"] == str(len(request.content))
    assert request.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://catalog.test:8001", "catalog.test:8001"),
        ("http://catalog.test:80/", "catalog.test"),
        ("https://catalog.test:443", "catalog.test"),
        ("http://[::1]:8001", "[::1]:8001"),
    ],
)
async def test_a_call_names_the_unit_s_host_as_httpx_would(
    tmp_path: Path, url: str, host: str
) -> None:
    network = Network(answer(200, LAMP))
    _, remote = unit_app(
        "orders",
        f"sqlite:///{tmp_path / 'orders.db'}",
        catalog_url=url,
        transport=httpx.MockTransport(network.handle),
    )

    await catalog(remote).get_product("LAMP")

    (request,) = network.requests
    assert request.headers["host"] == host
    assert request.headers.get_list("host") == [host]  # once


async def test_the_pooled_client_is_closed_on_stop_and_opened_again_on_use(
    tmp_path: Path,
) -> None:
    network = Network(answer(200, LAMP))
    remote = remote_calls(tmp_path, network)
    await remote.start()
    first = remote.channel.client
    await remote.stop()

    assert first.is_closed
    await catalog(remote).get_product("LAMP")
    assert remote.channel.client is not first
    await remote.stop()
