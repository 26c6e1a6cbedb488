"""``Dashboard``: the dashboard's ASGI app under ``[observability.dashboard] path``."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import re
import time
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from dolmen.config import mask_credentials
from dolmen.observability._dashboard._guard import COOKIE, SESSION_SECONDS, Access, Guard, Refused
from dolmen.observability._dashboard._sampler import Sampler, registry_reader
from dolmen.observability._dashboard._settings import DashboardSettings
from dolmen.observability._dashboard._state import (
    EventsCache,
    TraceSource,
    config_view,
    events_view,
    metrics_view,
    trace_view,
    traces_view,
)
from dolmen.observability._lag import lag_view

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from dolmen.observability._lag import LagSource
    from dolmen.observability._metrics import Metrics

logger = logging.getLogger("dolmen.observability")

STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}
DEAD_LETTER_ACTION = re.compile(r"^/api/dead-letters/(\d{1,18})/(replay|discard)$")
TRACE = re.compile(r"^/api/traces/([0-9A-Za-z_-]{1,64})$")


def problem(status: int, title: str, detail: str) -> Response:
    """An RFC 9457 problem document."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status, HEADERS, media_type="application/problem+json")


class Dashboard:
    """The dashboard of one app: its pages, its JSON API and the sampler behind its numbers.

    ``traces`` gives the recent traces (None: the page says traces are off); ``clock`` is the
    time of the samples (seconds since the epoch; tests give their own and call
    :meth:`sample`).
    """

    def __init__(
        self,
        app: Any,
        settings: DashboardSettings,
        metrics: Metrics | None,
        traces: Callable[[], TraceSource | None],
        *,
        lag: Callable[[], LagSource | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings
        self.prefix = settings.path
        self.traces = traces
        self.lag = lag
        self.clock = clock
        token = settings.token.get_secret_value() if settings.token is not None else None
        self.guard = Guard(token, app.config.environment)
        keep = settings.window_minutes * 60.0
        self.sampler = Sampler(registry_reader(metrics.registry), keep) if metrics else None
        self.events = EventsCache(app, clock)
        self._task: asyncio.Task[None] | None = None

    # -- the sampler ------------------------------------------------------------------

    def sample(self, now: float | None = None) -> None:
        """Take one snapshot of the metrics (the timer's step; tests call it)."""
        if self.sampler is not None:
            self.sampler.sample(self.clock() if now is None else now)

    def start(self) -> None:
        """Sample now, then every ``sample_seconds`` in the background."""
        self.sample()
        if self.sampler is not None:
            self._task = asyncio.create_task(self._sample_forever())

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sample_seconds)
            try:
                await asyncio.to_thread(self.sample)  # reading workers' files may block
            except Exception as error:
                logger.warning("could not sample the metrics for the dashboard: %s", error)

    # -- serving ----------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request below the dashboard's path (the access middleware sends it)."""
        request = Request(scope, receive)
        try:
            response = await self._answer(request, scope["path"][len(self.prefix) :])
        except Refused as refused:
            response = problem(refused.status, refused.title, refused.detail)
        except Exception as error:  # the database may be away: say so, never a bare 500
            reason = mask_credentials(str(error))  # a database error may hold its URL
            logger.warning("the dashboard could not answer %s: %s", scope["path"], reason)
            response = problem(
                503, "Service Unavailable", f"the dashboard could not read the app: {reason}"
            )
        await response(scope, receive, send)

    async def _answer(self, request: Request, path: str) -> Response:
        if path and not path.startswith("/"):
            raise Refused(404, "Not Found", f"no page at {request.url.path}")
        method = request.method
        if method == "POST":
            return await self._act(request, path)
        if method not in ("GET", "HEAD"):
            raise Refused(405, "Method Not Allowed", "the dashboard answers GET, and POST to act")
        if path == "":
            return RedirectResponse(f"{self.prefix}/{_query(request)}", 307, HEADERS)
        token = request.query_params.get("token")
        if path == "/" and token is not None:
            return self._open_session(request, token)
        access = self.guard.admit(request)
        if path == "/":
            return self._page(access)
        if path.startswith("/static/") and path[8:] in STATIC:
            return _static(path[8:])
        if path == "/api/state":
            return JSONResponse(await self._state(request, access), headers=HEADERS)
        if path == "/api/config":
            return JSONResponse(config_view(self.app.config), headers=HEADERS)
        found = TRACE.match(path)
        if found:
            spans = trace_view(self.traces(), found[1])
            if spans is None:
                raise Refused(404, "Not Found", f"no trace {found[1]} in the buffer (any more)")
            return JSONResponse({"trace_id": found[1], "spans": spans}, headers=HEADERS)
        raise Refused(404, "Not Found", f"no page at {request.url.path}")

    def _open_session(self, request: Request, token: str) -> Response:
        if not self.guard.token_matches(token):
            raise Refused(403, "Forbidden", "this is not the dashboard's token")
        response = RedirectResponse(f"{self.prefix}/", 303, HEADERS)
        response.set_cookie(
            COOKIE,
            self.guard.new_session(),
            max_age=SESSION_SECONDS,
            path=f"{self.prefix}/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    def _page(self, access: Access) -> Response:
        page = resources.files(__package__).joinpath("static/index.html").read_text("utf-8")
        csrf = self.guard.csrf(access) or access.via
        page = page.replace("{{prefix}}", self.prefix).replace("{{csrf}}", csrf)
        page = page.replace("{{app}}", _escape(self.app.name))
        return Response(page, headers=HEADERS, media_type="text/html")

    async def _state(self, request: Request, access: Access) -> dict[str, Any]:
        try:
            minutes = float(request.query_params.get("minutes", "5"))
        except ValueError:
            minutes = math.nan
        if not math.isfinite(minutes):
            raise Refused(400, "Bad Request", "minutes is a number, e.g. ?minutes=5")
        minutes = min(max(minutes, 0.1), float(self.settings.window_minutes))
        view = metrics_view(self.app, self.sampler, minutes)
        stats, dead = await self.events.get()
        source = self.lag()
        lag = await source(stats) if source is not None else None
        return {
            "app": self.app.name,
            "environment": self.app.config.environment,
            "minutes": minutes,
            "can_act": self.guard.development or access.via != "loopback",
            **view,
            "events": events_view(stats, dead, view.pop("event_rates")),
            "units": lag_view(lag),
            "traces": traces_view(self.traces()),
        }

    async def _act(self, request: Request, path: str) -> Response:
        found = DEAD_LETTER_ACTION.match(path)
        if found is None:
            raise Refused(404, "Not Found", f"nothing to do at {request.url.path}")
        access = self.guard.admit(request)
        self.guard.check_post(request, access)
        delivery, action = int(found[1]), found[2]
        events = self.app.events
        count = await (events.replay if action == "replay" else events.discard)(delivery)
        done = "replayed" if action == "replay" else "discarded"
        self.events.forget()
        if count == 0:
            raise Refused(404, "Not Found", f"no dead letter {delivery} (replayed or discarded?)")
        client = request.client.host if request.client else "?"
        logger.info("dead letter %s: %s from the dashboard (client %s)", delivery, done, client)
        return JSONResponse({"id": delivery, done: count}, headers=HEADERS)


def _static(name: str) -> Response:
    text = resources.files(__package__).joinpath(f"static/{name}").read_text("utf-8")
    return Response(text, headers=HEADERS, media_type=STATIC[name])


def _query(request: Request) -> str:
    query = request.url.query
    return f"?{query}" if query else ""


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
