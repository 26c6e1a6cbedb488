"""The access log: one line per request, the same whether it is written through ``logging``
or directly to Dolmen's handler (when nothing else would see the record)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.types import Receive, Scope, Send

from dolmen.observability import Redactor
from dolmen.observability._access import ObservedRequests, _only_handler
from dolmen.observability._extension import RequestObserver
from dolmen.observability._setup import LogHandler, log_handler

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def endpoint() -> None: ...


class Route:
    path = "/orders/{order_id}"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    scope["endpoint"], scope["route"] = endpoint, Route()  # as the router does
    logging.getLogger("shop.orders").info("inside")
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def observer(handler: LogHandler) -> RequestObserver:
    observer = RequestObserver()
    observer.active = observer.access_log = True
    observer.endpoints = {endpoint: "orders"}
    observer.handler = handler
    return observer


async def serve(middleware: ObservedRequests, request_id: str) -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/orders/A-1",
        "headers": [(b"x-request-id", request_id.encode()), (b"traceparent", TRACEPARENT)],
    }

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    async def send(_: Any) -> None: ...

    await middleware(scope, receive, send)
    await asyncio.sleep(0)  # the direct lines are written once the loop runs what is ready


@pytest.fixture
def http_logger() -> Iterator[logging.Logger]:
    """``dolmen.http`` and ``shop`` to Dolmen's handler alone, as in a served app."""
    loggers = [logging.getLogger("dolmen.http"), logging.getLogger("shop")]
    for logger in loggers:
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield loggers[0]
    finally:
        for logger in loggers:
            logger.propagate = True
            logger.setLevel(logging.NOTSET)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)


async def test_the_direct_access_line_is_the_line_logging_would_write(
    http_logger: logging.Logger,
) -> None:
    stream = io.StringIO()
    handler = log_handler("json", Redactor(["A-1-secret"]), stream)
    http_logger.addHandler(handler)
    logging.getLogger("shop").addHandler(handler)
    middleware = ObservedRequests(app, observer(handler))
    for other in [*http_logger.handlers]:  # pytest's capture, on loggers that do not propagate
        if other is not handler:
            http_logger.removeHandler(other)
    assert _only_handler(handler)
    await serve(middleware, "direct")  # nothing else sees dolmen.http's records
    http_logger.addHandler(logging.NullHandler())  # another handler: through logging
    assert not _only_handler(handler)
    await serve(middleware, "through-logging")
    inside, direct, _, through_logging = (json.loads(s) for s in stream.getvalue().splitlines())
    assert inside["module"] == "orders"
    assert inside["request_id"] == "direct"
    for line in direct, through_logging:
        del line["time"]
        line.pop("request_id")
        line["duration_ms"] = 0
        line["message"] = line["message"].partition(" in ")[0]
    assert direct == through_logging
    assert list(direct) == [
        "level", "logger", "message", "module", "trace_id", "span_id", "method", "route",
        "status", "duration_ms",
    ] or list(direct) == [
        "level", "logger", "message", "module", "trace_id", "method", "route", "status",
        "duration_ms",
    ]  # fmt: skip
    assert direct["route"] == "/orders/{order_id}"
    assert direct["status"] == 201
    assert direct["module"] == "orders"
    assert direct["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert direct["message"] == "POST /orders/{order_id} 201"  # then " in <duration> ms"


async def test_no_access_line_when_it_is_turned_off(http_logger: logging.Logger) -> None:
    stream = io.StringIO()
    handler = log_handler("json", Redactor(), stream)
    http_logger.addHandler(handler)
    quiet = observer(handler)
    quiet.access_log = False
    await serve(ObservedRequests(app, quiet), "r")
    assert stream.getvalue() == ""


async def test_lines_waiting_to_be_written_keep_their_order_with_logged_records() -> None:
    stream = io.StringIO()
    handler = log_handler("json", Redactor(), stream)
    handler.write_line('{"message":"first"}')
    handler.write_line('{"message":"second"}')
    assert stream.getvalue() == ""  # one write, once the loop runs what is ready
    handler.handle(logging.LogRecord("shop", logging.INFO, __file__, 1, "third", (), None))
    await asyncio.sleep(0)
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == [
        "first",
        "second",
        "third",
    ]
