"""The callee's side of a call across units: internal endpoints for the local modules' services.

``POST /_units/call/{module}/{Service}/{method}`` checks the signature first (an
unsigned or badly signed call learns nothing, not even whether the service exists), then
runs the method in a unit of work of its own, as the target module: committed when it
returns, rolled back when it raises. It cannot share the caller's transaction, which lives
in another process. A declared error goes back as a problem that names it; anything else
is a crash, logged here once with the request id and answered 500.

The endpoint is a plain ASGI app put in front of FastAPI (:meth:`CallServer.wrap`), inside
observability's middleware (request id, trace, access line and metrics as for any request):
a call skips FastAPI's routing, dependencies and middleware stack, and stays out of the
OpenAPI document. An ``@idempotent`` method (a read, or a "set to" write) runs first in a
read-only unit of work, which begins no transaction; if it writes, it runs again in a
writing one, as it does from then on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.http import (
    REQUEST_ID_KEY,
    answer_failure,
    content_length,
    new_request_id,
    problem,
    too_large_detail,
)
from dolmen.units._errors import ERROR_FIELD, DeclaredErrors
from dolmen.units._remote_client import CALL_PATH, REQUEST_ID_HEADER
from dolmen.units._signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRefused,
    Verifier,
)
from dolmen.units._wire import ContractError, MethodContract, contract_of, service_name

if TYPE_CHECKING:
    from starlette.responses import Response

    from dolmen.units._remote import CallingApp

logger = logging.getLogger("dolmen.units")

_PREFIX = CALL_PATH + "/"
_JSON = (b"content-type", b"application/json")
_REQUEST_ID = REQUEST_ID_HEADER.encode()
_SIGNING_HEADERS = frozenset(
    name.encode() for name in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
)
"""The headers the signature check reads (ASGI gives header names in lower case)."""
DEFAULT_MOST_BYTES = 1_048_576
"""The largest call body taken when the app's ``[app] max_body_bytes`` cannot be read."""


@dataclass(frozen=True, slots=True)
class CallRoute:
    """What the access line, the metrics and the server span name a call's route by."""

    path: str


CALL_ROUTE = CallRoute(CALL_PATH + "/{module}/{service}/{method}")


@dataclass(frozen=True, slots=True)
class _Route:
    """A method served here, found from its path once."""

    module: str
    service: str
    key: Any
    method: MethodContract
    which: tuple[str, str, str]
    """(module, service, method): how ``_writers`` names it."""


class _Refused(Exception):
    """A call answered with a problem before it ran (``response``)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class CallServer:
    """Serves the public services of ``services`` ((module, key) pairs) to the other units."""

    def __init__(
        self,
        app: CallingApp,
        services: Iterable[tuple[str, Any]],
        verifier: Verifier | None,
        errors: Callable[[], DeclaredErrors],
    ) -> None:
        self.app = app
        self.services: dict[tuple[str, str], Any] = {}
        for module, key in services:
            self.services[module, service_name(key)] = key
        self.modules = sorted({module for module, _ in self.services})
        self.verifier = verifier
        self.errors = errors
        self._writers: set[tuple[str, str, str]] = set()
        """``@idempotent`` methods seen writing: they begin in a writing unit of work."""
        self._routes: dict[str, _Route] = {}
        """The methods called so far, by path: looked up once each (at most one per method)."""

    def wrap(self, asgi: ASGIApp) -> ASGIApp:
        """``asgi``, with the calls of the other units answered before it sees them."""

        async def calls_first(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"].startswith(_PREFIX):
                await self(scope, receive, send)
            else:
                await asgi(scope, receive, send)

        return calls_first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one call: its result, a problem, or a 500 for a crash (logged once)."""
        request_id = scope.get(REQUEST_ID_KEY) or new_request_id(scope)
        scope[REQUEST_ID_KEY] = request_id
        scope["route"] = CALL_ROUTE
        try:
            body = await self._handle(scope, receive)
        except _Refused as refused:
            await refused.response(scope, receive, _with_id(send, request_id))
            return
        except Exception as error:
            route = CALL_ROUTE.path
            await answer_failure(scope, receive, send, request_id, error, route, started=False)
            return
        headers = [
            _JSON,
            (b"content-length", b"%d" % len(body)),
            (_REQUEST_ID, request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive) -> bytes:
        """The result's JSON; _Refused with the problem that answers a call that cannot run."""
        path: str = scope["path"]
        if scope["method"] != "POST":
            refusal = problem(405, "calls between units are POST requests")
            refusal.headers["allow"] = "POST"
            raise _Refused(refusal)
        body = await self._body(scope, receive)
        self._check_signature(path, scope, body)
        route = self._routes.get(path)
        if route is None:
            route = self._routes[path] = self._route(path)
        method = route.method
        if not self.app.started:
            raise _Refused(problem(503, "this unit is starting or stopping; call again"))
        try:
            arguments = method.decode_arguments(body)
        except ValidationError as error:
            raise _Refused(
                problem(
                    422,
                    f"the arguments of {route.service}.{method.name} are not valid; see 'errors'",
                    errors=json.loads(error.json(include_url=False, include_input=False)),
                )
            ) from None
        return await self._run(route, arguments)

    def _route(self, path: str) -> _Route:
        """The method a path calls; _Refused (404) when there is none here."""
        module, name, method_name = _parts(path)
        key = self.services.get((module, name))
        if key is None:
            raise _Refused(
                problem(
                    404,
                    f"no public service {name!r} of module {module!r} here: this unit serves "
                    f"{', '.join(map(repr, self.modules)) or 'no module'}",
                )
            )
        try:
            method = contract_of(key).methods.get(method_name)
        except ContractError as error:
            raise _Refused(problem(404, str(error))) from None
        if method is None:
            raise _Refused(
                problem(404, f"{name} of module {module!r} has no method {method_name!r}")
            )
        return _Route(module, name, key, method, (module, name, method.name))

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        """The request's body, refused with 413 past ``[app] max_body_bytes``."""
        limit = _most_bytes(self.app)
        length = content_length(scope)
        if length is not None and length > limit:
            raise _Refused(problem(413, too_large_detail(limit)))
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":  # the caller went away
                raise _Refused(problem(400, "the call's body did not arrive in full"))
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(problem(413, too_large_detail(limit)))
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _check_signature(self, path: str, scope: Scope, body: bytes) -> None:
        """Return for a call signed right; _Refused with a 401 or 403 problem otherwise."""
        if self.verifier is None:
            raise _Refused(
                problem(
                    403,
                    "this unit takes no calls from other units: its [units] secret is not set",
                )
            )
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in _SIGNING_HEADERS:
                headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        try:
            self.verifier.verify("POST", path, headers, body)
        except SignatureRefused as refused:
            logger.warning("refused a call to %s: %s", path, refused)
            raise _Refused(problem(401, str(refused))) from None

    async def _run(self, route: _Route, arguments: dict[str, Any]) -> bytes:
        """Run the method as its module in a unit of work of its own; its result's JSON."""
        module, key, method, which = route.module, route.key, route.method, route.which
        write = not method.idempotent or which in self._writers
        try:
            try:
                return await self._once(module, key, method, arguments, write=write)
            except Exception as error:
                if write or not _wrote(error):
                    raise
            # It wrote: (an idempotent method may run twice) again, in a writing one.
            self._writers.add(which)
            return await self._once(module, key, method, arguments, write=True)
        except Exception as error:
            errors = self.errors()
            declared = errors.declared(error)
            if declared is None:
                raise  # a crash, or a refusal by the database: answer_failure answers it
            raise _Refused(
                problem(
                    errors.status.get(declared, 400),
                    str(error) or None,
                    **{ERROR_FIELD: errors.encode(error, declared)},
                )
            ) from None

    async def _once(
        self,
        module: str,
        key: Any,
        method: MethodContract,
        arguments: dict[str, Any],
        *,
        write: bool,
    ) -> bytes:
        async with self.app.unit_of_work(module, write=write) as work:
            service = await work.get(key)
            return method.encode_result(await getattr(service, method.name)(**arguments))


def _read_only_refusals() -> tuple[type[Exception], ...]:
    from dolmen.events import OutboxError
    from dolmen.persistence.exceptions import ReadOnlyWorkError

    return (ReadOnlyWorkError, OutboxError)


def _wrote(error: BaseException) -> bool:
    """Whether ``error`` (or what it was raised from) refused a write in a read-only work."""
    refusals = _read_only_refusals()
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, refusals):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _parts(path: str) -> tuple[str, str, str]:
    """``(module, service, method)`` of a call's path; _Refused (404) for another path."""
    parts = path[len(_PREFIX) :].split("/")
    if len(parts) != 3 or not all(parts):
        raise _Refused(problem(404, f"no call at {path}: calls are POST {CALL_ROUTE.path}"))
    return parts[0], parts[1], parts[2]


def _most_bytes(app: CallingApp) -> int:
    settings = getattr(app, "settings", None)
    limit = getattr(settings, "max_body_bytes", None)
    return limit if isinstance(limit, int) else DEFAULT_MOST_BYTES


def _with_id(send: Send, request_id: str) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), (_REQUEST_ID, request_id.encode())]
        await send(message)

    return send_with_id
