"""Dolmen's one HTTP middleware: request id, body limit, unit of work and errors, in one frame.

It does in one ASGI layer what three did (the request id and crash handling, the body limit,
the unit of work), with one ``send`` wrapper: each layer cost a coroutine frame and a
closure per message on every request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.config import AppSettings
from dolmen.http._body_limit import BodyTooLargeError, content_length, too_large_detail
from dolmen.http._database_errors import refusal_for
from dolmen.http._errors import CRASH_DETAIL, log_crash, log_refusal, route_of
from dolmen.http._inject import ENDPOINTS_KEY, WORK_KEY
from dolmen.http._problem_error import ProblemError, log_problem_error
from dolmen.http._problems import problem
from dolmen.http._request_id import REQUEST_ID_HEADER, REQUEST_ID_KEY, new_request_id

if TYPE_CHECKING:
    from dolmen.http._served import RequestWork, ServedApp

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_LIMIT: int = AppSettings.model_fields["max_body_bytes"].default
_REQUEST_ID_HEADER = REQUEST_ID_HEADER.lower().encode()


class RequestMiddleware:
    """Per HTTP request: an id, the body limit, a unit of work, and any crash turned into a 500.

    - **Request id**: the client's ``X-Request-ID`` when short and printable, else a new one
      (or the one the observability middleware made), echoed in the response header.
    - **Body limit**: a body larger than ``[app] max_body_bytes`` is refused with 413, unread:
      at once from its ``Content-Length``, or as its chunks arrive
      (:class:`~dolmen.http._body_limit.BodyTooLargeError` to whoever reads it).
    - **Unit of work** (once the app started): opened per request, committed before the
      response starts when its status is below 400, rolled back otherwise, so a failed commit
      still becomes a 500; GET, HEAD and OPTIONS run as read transactions.
    - **Errors**: an exception no handler took is logged once, with its traceback, request id,
      method and route template, and answered with a 500 problem carrying the
      ``request_id``; a database refusal the request's values caused is a 409 or 422 problem
      (see :func:`~dolmen.http._database_errors.refusal_for`); a
      :class:`~dolmen.http.ProblemError` (another unit failed) is a problem of its own
      status, logged as a warning. After the response started,
      it can only be logged.
    """

    def __init__(
        self,
        app: ASGIApp,
        dolmen_app: ServedApp,
        endpoints: Mapping[Any, str],
        route_templates: Mapping[int, str],
    ) -> None:
        self.app = app
        self.dolmen_app = dolmen_app
        self.endpoints = endpoints
        self.route_templates = route_templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get(REQUEST_ID_KEY) or new_request_id(scope)
        scope[REQUEST_ID_KEY] = request_id
        dolmen_app = self.dolmen_app
        started_app = dolmen_app.started
        limit = dolmen_app.settings.max_body_bytes if started_app else _DEFAULT_LIMIT
        length = content_length(scope)
        if length is not None and length > limit:
            await problem(413, too_large_detail(limit))(scope, receive, _with_id(send, request_id))
            return
        if length is None:
            receive = _limited(receive, limit)
        work: RequestWork | None = None
        if started_app:
            # Not started (served without its lifespan): probes still answer, and routes
            # that need services say why they cannot have them.
            work = dolmen_app.begin(write=scope["method"] not in SAFE_METHODS)
            scope[WORK_KEY] = work
            scope[ENDPOINTS_KEY] = self.endpoints
        decided = started = False

        async def send_decided(message: Message) -> None:
            nonlocal decided, started
            if message["type"] == "http.response.start":
                if not decided:
                    decided = True  # a commit that fails is a 500, not the response it met
                    if work is not None:
                        if message["status"] < 400:
                            await work.commit()
                        else:
                            await work.rollback()
                    _add_request_id(message, request_id)
                started = True
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_decided)
            finally:
                if work is not None:
                    await work.close()
        except Exception as error:
            await self._failed(scope, receive, send, request_id, error, started=started)

    async def _failed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        error: Exception,
        *,
        started: bool,
    ) -> None:
        route = route_of(scope, self.route_templates)
        await answer_failure(scope, receive, send, request_id, error, route, started=started)


async def answer_failure(
    scope: Scope,
    receive: Receive,
    send: Send,
    request_id: str,
    error: Exception,
    route: str,
    *,
    started: bool,
) -> None:
    """Log ``error`` once and answer it as a problem (unless the response ``started``).

    A body too large is a 413, a :class:`~dolmen.http.ProblemError` its own status, a
    database refusal the request's values caused a 409 or 422, anything else a crash: a 500
    carrying the ``request_id``.
    """
    if isinstance(error, BodyTooLargeError) and not started:
        # Normally a problem handler has answered already; this is for a reader outside
        # FastAPI's handlers (another middleware, a background read).
        response = problem(413, str(error.detail))
        await response(scope, receive, _with_id(send, request_id))
        return
    refusal = None if started else refusal_for(error)
    if isinstance(error, ProblemError) and not started:
        log_problem_error(scope, route, request_id, error)
        response = problem(error.http_status, error.problem_detail(), request_id=request_id)
    elif refusal is not None:
        log_refusal(scope, route, request_id, refusal)
        response = problem(refusal.status, refusal.detail)
    else:
        log_crash(scope, route, request_id, error, started=started)
        if started:
            return
        response = problem(500, CRASH_DETAIL, request_id=request_id)
    await response(scope, receive, _with_id(send, request_id))


def _add_request_id(message: Message, request_id: str) -> None:
    headers = message.get("headers", ())
    for name, _ in headers:
        if name.lower() == _REQUEST_ID_HEADER:
            return
    # A new list: the response may keep the one it sent (Starlette's raw_headers).
    message["headers"] = [*headers, (_REQUEST_ID_HEADER, request_id.encode("latin-1"))]


def _with_id(send: Send, request_id: str) -> Send:
    async def send_with_id(message: Message) -> None:
        if message["type"] == "http.response.start":
            _add_request_id(message, request_id)
        await send(message)

    return send_with_id


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` counting the body's chunks; the one that passes ``limit`` raises."""
    received = 0

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLargeError(limit)
        return message

    return limited_receive
