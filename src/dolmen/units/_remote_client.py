"""The caller's side of a call across units: a client made from the service's Protocol.

Each ``async def`` method of the Protocol becomes a method of a generated class that
validates and serialises its arguments through pydantic, signs the request, sends it over
one pooled ``httpx.AsyncClient`` with the trace context and the request id, and turns the
answer back into the method's return type, or into the error the other module raised.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx
from pydantic import ValidationError

from dolmen.units._errors import ERROR_FIELD, DeclaredErrors
from dolmen.units._signing import signed_headers
from dolmen.units._wire import MethodContract, ServiceContract
from dolmen.units.exceptions import RemoteCallError, RemoteCallTimeout, RemoteUnitUnreachable

logger = logging.getLogger("dolmen.units")

CALL_PATH = "/_units/call"
"""Where a unit serves its modules' public services to the other units (not below
``/_dolmen``: the dashboard answers every path there)."""

RETRIED_STATUSES = frozenset({502, 503, 504})
"""Answers an ``@idempotent`` call is retried after: a proxy or a unit not ready yet. A 500
is the other module's own failure: it would fail again."""

REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True, slots=True)
class Target:
    """Where one module's services are: the module, its unit and that unit's base URL."""

    module: str
    unit: str
    url: str


@dataclass(frozen=True, slots=True)
class CallAnswer:
    """A call's answer, read in full: what :class:`Channel` reads of an ``httpx.Response``."""

    status_code: int
    content: bytes
    reason_phrase: str

    @property
    def text(self) -> str:
        """The body as text (a problem's JSON, or whatever a proxy answered)."""
        return self.content.decode("utf-8", errors="replace")


class PostsCalls(Protocol):
    """A transport that also sends a call without httpx's request and response objects.

    ``post_call(url, headers, body, timeouts)`` POSTs ``body`` with ``headers`` under
    ``timeouts`` (the values of httpx's ``timeout`` extension) and returns the answer read
    in full, raising httpx's ``TransportError`` as ``handle_async_request`` does
    (:class:`AiohttpTransport` has it).
    """

    async def post_call(
        self,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        timeouts: Mapping[str, float | None],
    ) -> CallAnswer: ...


Answer = httpx.Response | CallAnswer
"""A call's answer as :meth:`Channel._send` returns it."""

CallObserver = Callable[[str, str, str, str, float], None]
"""``observer(unit, module, method, outcome, seconds)``: a call's outcome, for the metrics."""


class Channel:
    """Sends the calls of this process to the other units, over one pooled HTTP client.

    ``transport`` replaces httpx's network transport (tests give an ``ASGITransport`` or a
    ``MockTransport``); ``sleep`` waits between retries (tests give one that does not).
    """

    def __init__(
        self,
        secret: bytes,
        *,
        timeout: float,
        retries: int,
        errors: Callable[[], DeclaredErrors],
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        context: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self._secret = secret
        self._timeout = timeout
        self._retries = retries
        self._errors = errors
        self._transport = transport
        self._sleep = sleep
        self._context = context or context_headers
        self._client: httpx.AsyncClient | None = None
        self._pool: httpx.AsyncBaseTransport | None = None
        """The client's transport, which the calls use directly."""
        self._post: PostsCalls | None = None
        """The same transport when it sends calls without httpx's objects (:class:`PostsCalls`)."""
        self._timeouts = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._urls: dict[tuple[str, str], tuple[httpx.URL, str, str]] = {}
        """Each call's URL, its ``host`` header and the URL as text, by (unit URL, path)."""
        self.observer: CallObserver | None = None
        """Told ``(unit, module, "Service.method", outcome, seconds)`` of each call."""

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled client (opened on first use: a start-up hook may call another unit).

        Calls go straight to its transport (:meth:`_send`); the readiness checks use it whole.
        """
        if self._client is None or self._client.is_closed:
            transport = self._transport or pooled_transport()
            self._pool = transport
            self._post = cast(PostsCalls, transport) if hasattr(transport, "post_call") else None
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout), transport=transport, trust_env=False
            )
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def call(
        self,
        target: Target,
        service: ServiceContract,
        method: MethodContract,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> Any:
        """Call ``method`` of ``service`` in ``target``'s unit; its result, or its error.

        With an :attr:`observer`, each call is reported with its outcome and duration.
        """
        if self.observer is None:
            return await self._call(target, service, method, args, kwargs)
        began = time.perf_counter()
        outcome = "failed"
        try:
            result = await self._call(target, service, method, args, kwargs)
            outcome = "ok"
            return result
        except RemoteCallError as error:
            outcome = _outcome(error)
            raise
        except Exception:
            outcome = "error"  # the module's own declared error, raised again here
            raise
        finally:
            seconds = time.perf_counter() - began
            label = f"{service.name}.{method.name}"
            self.observer(target.unit, target.module, label, outcome, seconds)

    async def _call(
        self,
        target: Target,
        service: ServiceContract,
        method: MethodContract,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> Any:
        body = method.encode_arguments(args, kwargs)
        path = f"{CALL_PATH}/{target.module}/{service.name}/{method.name}"
        known = self._urls.get((target.url, path))
        if known is None:
            full = httpx.URL(target.url.rstrip("/") + path)
            known = self._urls[target.url, path] = (full, _host(full), str(full))
        url, host, text = known
        where = f"{target.module}.{service.name}.{method.name}"
        # Host and Content-Length given, the body as a stream: httpx.Request then adds none
        # itself (looking each up in the headers costs more than the rest of the request).
        headers = {"host": host, "content-length": str(len(body))}
        headers.update(self._context())
        headers["content-type"] = "application/json"
        attempts = self._retries + 1
        for attempt in range(1, attempts + 1):
            headers.update(signed_headers(self._secret, "POST", path, body))
            try:
                response = await self._send(url, text, headers, body)
            except httpx.TransportError as error:
                failure, safe = self._failure(error, where, target, str(url), attempt, method)
                if not safe or attempt == attempts:
                    raise failure from error
                await self._retry(where, target, attempt, attempts, type(error).__name__)
                continue
            retried = method.idempotent and response.status_code in RETRIED_STATUSES
            if not retried or attempt == attempts:
                return self._answer(target, where, method, response)
            await self._retry(where, target, attempt, attempts, str(response.status_code))
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _send(
        self, url: httpx.URL, text: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        """POST ``body`` to ``url`` (``text``) through the pool's transport; the answer, in full.

        Not through ``AsyncClient.send``: a call needs no cookies, redirects, auth, event
        hooks nor its log line per request, which cost more CPU than the call's own work.
        A transport that :class:`PostsCalls` is given the call without httpx's objects.
        """
        _ = self.client  # opened, with its transport
        if self._post is not None:
            return await self._post.post_call(text, headers, body, self._timeouts["timeout"])
        assert self._pool is not None
        request = httpx.Request(
            "POST", url, headers=headers, stream=httpx.ByteStream(body), extensions=self._timeouts
        )
        response = await self._pool.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    def _failure(
        self,
        error: httpx.TransportError,
        where: str,
        target: Target,
        url: str,
        attempt: int,
        method: MethodContract,
    ) -> tuple[RemoteCallError, bool]:
        """The error a failed attempt raises, and whether repeating the call is safe."""
        if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
            # The request never left this process: repeating it is always safe.
            return _unreachable(where, target, url, error), True
        if isinstance(error, httpx.TimeoutException):
            timeout = RemoteCallTimeout(
                f"the call {where} to unit {target.unit!r} ({url}) timed out after "
                f"{self._timeout:g} s ([units] call_timeout_seconds)"
                f"{_attempts(attempt)}; it may have run there"
            )
            return timeout, method.idempotent
        lost = RemoteCallError(
            f"the call {where} to unit {target.unit!r} ({url}) failed on its way: "
            f"{type(error).__name__}: {error}{_attempts(attempt)}; it may have run there"
        )
        return lost, method.idempotent

    async def _retry(
        self, where: str, target: Target, attempt: int, attempts: int, reason: str
    ) -> None:
        logger.warning(
            "the call %s to unit %r failed (%s); attempt %d of %d next",
            where,
            target.unit,
            reason,
            attempt + 1,
            attempts,
            extra={"unit": target.unit, "call": where},
        )
        await self._sleep(_backoff(attempt))

    def _answer(self, target: Target, where: str, method: MethodContract, response: Answer) -> Any:
        status = response.status_code
        if status == 200:
            try:
                return method.decode_result(response.content)
            except ValidationError as error:
                raise RemoteCallError(
                    f"unit {target.unit!r} answered {where} with a result that does not fit "
                    f"its return annotation (are both units on the same version?): {error}",
                    status=status,
                ) from None
        problem = _problem(response)
        declared = self._errors().decode(problem.get(ERROR_FIELD))
        if declared is not None:
            declared.add_note(f"raised by module {target.module!r} in unit {target.unit!r}")
            raise declared
        detail = problem.get("detail") or response.text[:300] or response.reason_phrase
        message = f"unit {target.unit!r} answered the call {where} with {status}: {detail}"
        if status in (401, 403):
            message += " (every unit needs the same [units] secret)"
        if problem.get("request_id"):
            message += f" (request id {problem['request_id']} in its logs)"
        raise RemoteCallError(message, status=status)


POOL_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=4.0)
"""The calls' connection pool. Idle connections are dropped before uvicorn's 5 s keep-alive
closes them, so a call does not meet a connection the other side is closing."""


def pooled_transport(*, aiohttp: bool | None = None) -> httpx.AsyncBaseTransport:
    """The transport of the calls' pooled client: on aiohttp when it is installed.

    ``aiohttp=None`` picks aiohttp's (``dolmen[fast]``, about half the caller's CPU per call)
    if it can be imported, httpx's own (httpcore) otherwise; True or False asks for one.
    Either never goes through ``HTTP_PROXY``: calls between units go straight.
    """
    if aiohttp is None:
        aiohttp = importlib.util.find_spec("aiohttp") is not None
    if aiohttp:
        from dolmen.units._aiohttp_transport import AiohttpTransport

        return AiohttpTransport(limits=POOL_LIMITS)
    return httpx.AsyncHTTPTransport(limits=POOL_LIMITS, trust_env=False)


def context_headers() -> dict[str, str]:
    """The trace context (W3C ``traceparent``) and request id the call carries on."""
    headers: dict[str, str] = {}
    _propagator().inject(headers)
    from dolmen.observability import current_request_id

    request_id = current_request_id()
    if request_id is not None:
        headers[REQUEST_ID_HEADER] = request_id
    return headers


@functools.cache
def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


def _host(url: httpx.URL) -> str:
    """The ``host`` header of a request to ``url``, as httpx writes it (no default port)."""
    return httpx.Request("GET", url).headers["host"]


def _outcome(error: RemoteCallError) -> str:
    """The ``outcome`` label of a call that raised ``error``."""
    if isinstance(error, RemoteCallTimeout):
        return "timeout"
    if isinstance(error, RemoteUnitUnreachable):
        return "unreachable"
    return "failed"


def _unreachable(where: str, target: Target, url: str, error: Exception) -> RemoteCallError:
    return RemoteUnitUnreachable(
        f"could not reach unit {target.unit!r} at {url} for the call {where}: "
        f"{type(error).__name__}: {str(error) or 'no answer'}; is it running, and is its "
        f"[units.unit.{target.unit}] url right?"
    )


def _attempts(attempt: int) -> str:
    return f" ({attempt} attempts)" if attempt > 1 else ""


def _backoff(attempt: int) -> float:
    """50 ms, 100 ms, 200 ms … at most 1 s between attempts."""
    return float(min(0.05 * 2 ** (attempt - 1), 1.0))


def _problem(response: Answer) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class RemoteService:
    """The base of the clients generated for services of modules in other units."""

    __slots__ = ("_dolmen_channel", "_dolmen_contract", "_dolmen_target")

    def __init__(self, channel: Channel, contract: ServiceContract, target: Target) -> None:
        self._dolmen_channel = channel
        self._dolmen_contract = contract
        self._dolmen_target = target

    def __repr__(self) -> str:
        target = self._dolmen_target
        return (
            f"<remote {self._dolmen_contract.name} of module {target.module!r} in unit "
            f"{target.unit!r} at {target.url}>"
        )


@functools.cache
def client_class(contract: ServiceContract) -> type[RemoteService]:
    """The client class of a service: one coroutine method per method of its contract."""
    namespace: dict[str, Any] = {"__slots__": ()}
    for name, method in contract.methods.items():
        namespace[name] = _remote_method(method)
    return type(f"Remote{contract.key.__name__}", (RemoteService,), namespace)


def _remote_method(method: MethodContract) -> Callable[..., Awaitable[Any]]:
    async def call(self: RemoteService, *args: Any, **kwargs: Any) -> Any:
        return await self._dolmen_channel.call(
            self._dolmen_target, self._dolmen_contract, method, args, kwargs
        )

    call.__name__ = call.__qualname__ = method.name
    return call
