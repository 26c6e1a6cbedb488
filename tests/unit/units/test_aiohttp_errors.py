"""aiohttp's errors as httpx's: whether a call's request may have reached the other unit."""

from __future__ import annotations

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from dolmen.units._aiohttp_transport import _bounds, transport_error

KEY = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            aiohttp.ClientConnectorError(KEY, ConnectionRefusedError(111, "refused")),
            httpx.ConnectError,
        ),
        (aiohttp.ConnectionTimeoutError("no connection in time"), httpx.ConnectTimeout),
    ],
)
def test_a_request_that_never_left_is_safe_to_send_again(
    error: Exception, expected: type[httpx.TransportError]
) -> None:
    assert type(transport_error(error)) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (aiohttp.SocketTimeoutError("no answer in time"), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("no answer in time"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.ReadError),
        (aiohttp.ClientOSError(32, "broken pipe"), httpx.ReadError),
        (aiohttp.ClientPayloadError("cut short"), httpx.ReadError),
        (aiohttp.ClientError("something else"), httpx.TransportError),
    ],
)
def test_a_request_that_may_have_run_is_not_taken_for_one_that_never_left(
    error: Exception, expected: type[httpx.TransportError]
) -> None:
    mapped = transport_error(error)

    assert type(mapped) is expected
    assert not isinstance(mapped, NEVER_SENT)
    assert str(mapped)  # a message for the call's error


@pytest.mark.parametrize(
    ("timeouts", "total", "timeout"),
    [
        (
            {"pool": 1.0, "connect": 2.0, "write": 3.0, "read": 4.0},
            10.0,
            aiohttp.ClientTimeout(total=None, connect=3.0, sock_connect=2.0, sock_read=4.0),
        ),
        (
            {"connect": 2.0, "read": 4.0},
            None,
            aiohttp.ClientTimeout(total=None, connect=None, sock_connect=2.0, sock_read=4.0),
        ),
        ({}, None, aiohttp.ClientTimeout(total=None)),
    ],
)
def test_a_request_s_timeouts_bound_its_exchange_and_its_steps(
    timeouts: dict[str, float], total: float | None, timeout: aiohttp.ClientTimeout
) -> None:
    # Made once per set of values (the calls' timeouts are the same each time).
    assert _bounds(timeouts) == (total, timeout)
    assert _bounds(dict(timeouts)) is _bounds(timeouts)
