"""A unit of work around every HTTP request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.http._inject import ENDPOINTS_KEY, WORK_KEY

if TYPE_CHECKING:
    from dolmen.http._served import ServedApp

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class UnitOfWorkMiddleware:
    """Opens a unit of work per request; commits it before the response starts.

    A response below 400 commits; any other response, or an exception, rolls
    back. Because the commit happens before the status line is sent, a failed
    commit still turns into a 500 instead of a success that did not stick.
    Safe methods (GET, HEAD, OPTIONS) run as read transactions.

    For a FastAPI app of your own around a Dolmen app; the app Dolmen builds does this in its
    one request middleware (``dolmen.http._entry.RequestMiddleware``), with the request id,
    the body limit and the error handling.
    """

    def __init__(self, app: ASGIApp, dolmen_app: ServedApp, endpoints: dict[Any, str]) -> None:
        self.app = app
        self.dolmen_app = dolmen_app
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.dolmen_app.started:
            # Not started (e.g. served without its lifespan): probes still answer, and
            # routes that need services say why they cannot have them.
            await self.app(scope, receive, send)
            return
        work = self.dolmen_app.begin(write=scope["method"] not in SAFE_METHODS)
        scope[WORK_KEY] = work
        scope[ENDPOINTS_KEY] = self.endpoints
        decided = False

        async def send_after_commit(message: Message) -> None:
            nonlocal decided
            if message["type"] == "http.response.start" and not decided:
                decided = True
                if message["status"] < 400:
                    await work.commit()
                else:
                    await work.rollback()
            await send(message)

        try:
            await self.app(scope, receive, send_after_commit)
        finally:
            await work.close()
