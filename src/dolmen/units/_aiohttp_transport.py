"""An httpx transport on aiohttp's client: the calls across units for less CPU than httpcore.

With ``dolmen[fast]`` (aiohttp installed) the pooled ``httpx.AsyncClient`` of remote calls
sends through :class:`AiohttpTransport`; without it, through httpx's own (httpcore). The
calls see the same httpx requests, responses, timeouts and errors either way. Measured on
loopback, aiohttp's connection pool and its C HTTP parser cost about half the caller's CPU
that httpcore (with h11 and anyio) does for one call.

aiohttp's errors become httpx's so that a call knows whether its request left this process:
a refused or timed-out connection (or a wait for one from the pool) is ``ConnectError`` or
``ConnectTimeout`` and safe to send again; a connection lost or a read timed out after the
request was sent is ``ReadError`` or ``ReadTimeout``, and the call may have run there.
(``httpx-aiohttp``'s transport maps a lost connection and a read timeout to ``ConnectTimeout``,
which would repeat a call that is not idempotent: hence this one.)

An idle pooled connection the other unit has closed (it restarted, or its keep-alive ran out)
is dropped before a request goes out on it, as httpcore does: aiohttp only learns of the close
when its event loop next reads the socket, and a request sent on such a connection fails as
one the other unit may have run.
"""

from __future__ import annotations

import asyncio
import functools
import select
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler

from dolmen.units._remote_client import CallAnswer

_NEVER_SENT: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # a connection, or the pool's
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, unknown host, TLS
)
_MAY_HAVE_RUN: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),  # sock_read: no answer in time
    (aiohttp.ClientPayloadError, httpx.ReadError),  # the answer's body broke off
    (aiohttp.ClientConnectionError, httpx.ReadError),  # lost after the request went out
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not HTTP as it should be
    (aiohttp.ClientError, httpx.TransportError),
)


def transport_error(error: Exception) -> httpx.TransportError:
    """The httpx error that stands for aiohttp's ``error`` (its message kept)."""
    for kind, replacement in (*_NEVER_SENT, *_MAY_HAVE_RUN):
        if isinstance(error, kind):
            return replacement(str(error) or type(error).__name__)
    return httpx.TransportError(f"{type(error).__name__}: {error}")


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one ``aiohttp.ClientSession`` (made on the first request).

    ``limits``: ``max_connections`` bounds the pool (aiohttp's connector ``limit``), idle
    connections close after ``keepalive_expiry``; aiohttp keeps no separate count of idle
    ones (``max_keepalive_connections``). Each request's timeouts (httpx's ``timeout``
    extension) bound the wait for a pooled connection and its opening (``pool`` plus
    ``connect``), and the wait for the answer (``read``); writing a request is bounded by
    the whole of them together. Never through a proxy, never decompressing, never following
    redirects: a call goes straight to the unit it names.
    """

    def __init__(self, *, limits: httpx.Limits | None = None) -> None:
        self._limits = limits or httpx.Limits()
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        limits = self._limits
        connector = _Connector(
            limit=limits.max_connections or 0,  # 0: no bound, as httpx's None
            keepalive_timeout=limits.keepalive_expiry,
        )
        return aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; the answer, read in full, or an httpx ``TransportError``."""
        timeout: dict[str, float | None] = request.extensions.get("timeout", {})
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        body = await request.aread()
        answer, content = await self._exchange(
            request.method, str(request.url), headers, body, timeout
        )
        return httpx.Response(
            answer.status,
            headers=answer.raw_headers,
            content=content,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (answer.reason or "").encode(),
            },
        )

    async def post_call(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> CallAnswer:
        """POST a call's ``body`` to ``url``; its answer read in full, or a ``TransportError``.

        What :meth:`handle_async_request` does, without making an ``httpx.Request`` and an
        ``httpx.Response`` around aiohttp's own (a call reads only its status and body):
        about a quarter of the caller's CPU per call. Same timeouts, pool and errors.
        """
        answer, content = await self._exchange("POST", url, headers, body, timeouts)
        return CallAnswer(answer.status, content, answer.reason or "")

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: Any,
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        """Send one request and read its answer in full; aiohttp's errors as httpx's."""
        session = self._session
        if session is None or session.closed:
            session = self._session = self._open()
        total, timeout = _bounds(timeouts)
        try:
            async with asyncio.timeout(total):
                async with session.request(
                    method,
                    url,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    timeout=timeout,
                ) as answer:
                    content = await answer.read()
        except aiohttp.ClientError as error:
            raise transport_error(error) from error
        except TimeoutError as error:  # the bound of the whole exchange
            raise httpx.ReadTimeout("no answer within the request's timeouts") from error
        return answer, content

    async def aclose(self) -> None:
        """Close the pool's connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def _bounds(timeout: Mapping[str, float | None]) -> tuple[float | None, aiohttp.ClientTimeout]:
    """:func:`_total` and :func:`_timeout` of ``timeout``, made once per set of values."""
    get = timeout.get
    return _bounds_of(get("pool"), get("connect"), get("write"), get("read"))


@functools.lru_cache(maxsize=64)
def _bounds_of(
    pool: float | None, connect: float | None, write: float | None, read: float | None
) -> tuple[float | None, aiohttp.ClientTimeout]:
    timeout = {"pool": pool, "connect": connect, "write": write, "read": read}
    return _total(timeout), _timeout(timeout)  # (ClientTimeout is immutable: shared)


def _timeout(timeout: Mapping[str, float | None]) -> aiohttp.ClientTimeout:
    pool, connect = timeout.get("pool"), timeout.get("connect")
    waits = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(
        total=None, connect=waits, sock_connect=connect, sock_read=timeout.get("read")
    )


def _total(timeout: Mapping[str, float | None]) -> float | None:
    parts: list[Any] = [timeout.get(name) for name in ("pool", "connect", "write", "read")]
    return None if None in parts else float(sum(parts))


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, never handing out an idle connection the other side has closed.

    ``_get`` (aiohttp's internal: the next idle connection of a host, or None) is wrapped;
    docs/dependencies.md lists it, and a test guards it.
    """

    async def _get(self, key: Any, traces: Any) -> Any:
        connection = await super()._get(key, traces)
        while connection is not None and _closed_by_peer(connection.protocol):
            connection.close()  # released and closed: never used again
            connection = await super()._get(key, traces)
        return connection


def _closed_by_peer(protocol: ResponseHandler | None) -> bool:
    """Whether an idle connection cannot carry a request: closed, or its socket readable.

    An idle HTTP/1.1 connection has nothing to read: a readable socket holds the other
    side's close (or bytes nobody asked for). One ``poll`` with no wait, as httpcore does.
    """
    if protocol is None or protocol.transport is None or not protocol.is_connected():
        return True
    if protocol.should_close:
        return True
    sock = protocol.transport.get_extra_info("socket")
    if sock is None:
        return False  # not a socket (a test's transport): nothing to ask
    fileno = sock.fileno()
    if fileno < 0:
        return True
    if not hasattr(select, "poll"):  # Windows
        readable, _, _ = select.select([fileno], [], [], 0)
        return bool(readable)
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))
