"""Request bodies larger than ``[app] max_body_bytes`` are refused with 413, unread."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.http._problems import problem


class BodyTooLargeError(HTTPException):
    """The request body passed the limit; rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    """What a client whose body was refused is told to do."""
    return (
        f"The request body is larger than {limit} bytes, the most this server accepts; "
        "send a smaller body."
    )


class BodyLimitMiddleware:
    """Refuses a request body larger than the limit with 413, before it is read whole.

    A ``Content-Length`` above the limit is answered at once, without reading the body.
    A body without one (chunked) is counted as it is received: the chunk that passes
    the limit raises :class:`BodyTooLargeError` to whoever is reading it (FastAPI's body
    parsing lets it through, so it becomes the 413 problem) and nothing more is read.
    ``limit`` is asked once per request, so a started app's configuration applies.
    """

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        length = _content_length(scope)
        if length is not None and length > limit:
            await problem(413, too_large_detail(limit))(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLargeError as error:
            # Normally a problem handler has answered already; this is for a reader
            # outside FastAPI's handlers (another middleware, a background read).
            if started:
                raise
            await problem(413, str(error.detail))(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None
