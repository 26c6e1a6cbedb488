"""The HTTP entry of observability: each request's log context, and its access log line."""

from __future__ import annotations

import logging
import time
from json.encoder import encode_basestring
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dolmen.http import REQUEST_ID_KEY, new_request_id, route_of
from dolmen.observability._context import RequestContext, enter, leave
from dolmen.observability._metrics import UNMATCHED_ROUTE, exposition
from dolmen.observability._render import IsoClock

if TYPE_CHECKING:
    from dolmen.observability._extension import RequestObserver
    from dolmen.observability._metrics import Metrics
    from dolmen.observability._setup import LogHandler

logger = logging.getLogger("dolmen.http")


class ObservedRequests:
    """ASGI middleware, outermost: sets the request's log context, then logs one access line.

    The line says ``GET /orders/{order_id} 200 in 3.1 ms`` with the fields ``method``,
    ``route`` (the template, so that lines group by route), ``status`` and
    ``duration_ms``; the request id and the module come from the context, like every other
    line logged while the request runs. The request id is made here (the client's
    ``X-Request-ID`` when usable) and given to the rest of the app in the scope.
    """

    def __init__(self, app: ASGIApp, observer: RequestObserver) -> None:
        self.app = app
        self.observer = observer
        self.clock = IsoClock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observer = self.observer
        if scope["type"] != "http" or not observer.active:
            await self.app(scope, receive, send)
            return
        dashboard = observer.dashboard
        if dashboard is not None and scope["path"].startswith(dashboard.prefix):
            await dashboard(scope, receive, send)
            return
        metrics = observer.metrics
        if metrics is not None and scope["path"] == observer.metrics_path:
            await _serve_metrics(metrics, scope, send)
            return
        request_id = scope[REQUEST_ID_KEY] = new_request_id(scope)
        context = RequestContext(scope, request_id, observer.endpoints)
        token = enter(context)
        access_log = observer.access_log and logger.isEnabledFor(logging.INFO)
        tracing = observer.tracing
        if not (access_log or metrics is not None or tracing is not None):
            try:
                await self.app(scope, receive, send)
            finally:
                leave(token)
            return
        status = 500  # unless a response starts: the server answers 500 to what escapes
        started = time.perf_counter()

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        traced = None if tracing is None else tracing.server(scope)
        try:
            await self.app(scope, receive, send_observed)
        finally:
            try:
                seconds = time.perf_counter() - started
                method = scope["method"]
                route = route_of(scope, observer.templates)  # the path when none matched
                if metrics is not None:
                    module = observer.endpoints.get(scope.get("endpoint"), "")
                    label = route if "route" in scope else UNMATCHED_ROUTE
                    metrics.request(method, label, status, module, seconds)
                if access_log:
                    self._log(context, method, route, status, seconds)
                if traced is not None and tracing is not None:
                    matched = route if "route" in scope else None
                    owner = observer.endpoints.get(scope.get("endpoint"))
                    tracing.end_server(traced, method, matched, status, owner)
            finally:
                leave(token)

    def _log(
        self, context: RequestContext, method: str, route: str, status: int, seconds: float
    ) -> None:
        duration = round(seconds * 1000, 3)
        message = f"{method} {route} {status} in {duration:.1f} ms"
        handler = self.observer.handler
        if handler is not None and _only_handler(handler):
            handler.write_line(self._json_line(context, message, method, route, status, duration))
        else:
            logger.info(
                message,
                extra={"method": method, "route": route, "status": status, "duration_ms": duration},
            )

    def _json_line(
        self,
        context: RequestContext,
        message: str,
        method: str,
        route: str,
        status: int,
        duration: float,
    ) -> str:
        """The access line as Dolmen's JSON pipeline writes it, without a ``logging`` record."""
        parts = [
            f'{{"time":"{self.clock(time.time())}","level":"info","logger":"dolmen.http",'
            f'"message":{encode_basestring(message)}'
        ]
        fields = context.fields()
        module = fields.pop("module", None)
        parts.append(f',"module":{"null" if module is None else encode_basestring(module)}')
        for key, value in fields.items():  # request_id, then trace and span ids
            parts.append(f',"{key}":{encode_basestring(value)}')
        parts.append(
            f',"method":{encode_basestring(method)},"route":{encode_basestring(route)},'
            f'"status":{status},"duration_ms":{duration!r}}}'
        )
        return "".join(parts)


def _only_handler(handler: LogHandler) -> bool:
    """Whether an INFO record of ``dolmen.http`` would reach ``handler`` alone, unfiltered."""
    if handler.level > logging.INFO:
        return False
    found = False
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return False
        for other in current.handlers:
            if other is not handler:
                return False
            found = True
        if not current.propagate:
            break
        current = current.parent
    return found


async def _serve_metrics(metrics: Metrics, scope: Scope, send: Send) -> None:
    """``GET /metrics``: the text exposition (built off the event loop: it may read files)."""
    from starlette.concurrency import run_in_threadpool

    if scope["method"] not in ("GET", "HEAD"):
        body, status = b"use GET\n", 405
        content_type = "text/plain; charset=utf-8"
    else:
        body, content_type = await run_in_threadpool(exposition, metrics.registry)
        status = 200
    headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
