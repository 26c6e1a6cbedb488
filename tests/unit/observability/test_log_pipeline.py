"""Dolmen's log pipeline: the context of each line, its shape, JSON and console lines, and
other libraries' records passing through the same pipeline."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, Literal

import pytest
import structlog

from dolmen.observability import LogContextFilter, ObservabilitySettings, Redactor
from dolmen.observability._context import DeliveryContext, RequestContext, enter, leave
from dolmen.observability._setup import install, log_handler, uninstall

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def output() -> Iterator[tuple[io.StringIO, list[Any]]]:
    """A JSON pipeline installed on the root logger, writing to a buffer, removed after."""
    stream = io.StringIO()
    installed = install(log_handler("json", Redactor(["s3cr3t-value"]), stream), "DEBUG")
    try:
        yield stream, []
    finally:
        uninstall(installed)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def request_context(module: str | None = "orders", headers: Any = ()) -> RequestContext:
    def endpoint() -> None: ...

    scope = {"endpoint": endpoint, "headers": list(headers)}
    return RequestContext(scope, "req-1", {endpoint: module} if module else {})


def test_a_library_record_carries_time_level_logger_and_null_module(output: Any) -> None:
    stream, _ = output
    logging.getLogger("sqlalchemy.engine").warning("slow query %s", "SELECT 1")
    [line] = lines(stream)
    assert list(line)[:5] == ["time", "level", "logger", "message", "module"]
    assert line["level"] == "warning"
    assert line["logger"] == "sqlalchemy.engine"
    assert line["message"] == "slow query SELECT 1"
    assert line["module"] is None
    assert line["time"].endswith("Z")


def test_a_record_inside_a_request_carries_its_id_module_and_trace(output: Any) -> None:
    stream, _ = output
    token = enter(request_context(headers=[(b"traceparent", TRACEPARENT.encode())]))
    try:
        logging.getLogger("httpx").info("called the gateway", extra={"attempt": 2})
    finally:
        leave(token)
    logging.getLogger("httpx").info("after the request")
    inside, after = lines(stream)
    assert inside["request_id"] == "req-1"
    assert inside["module"] == "orders"
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inside["attempt"] == 2  # extra= fields are kept
    assert "request_id" not in after
    assert after["module"] is None


def test_a_record_inside_a_handler_run_carries_the_event_and_handler(output: Any) -> None:
    stream, _ = output
    token = enter(DeliveryContext("ev-9", "orders.OrderPaid", "billing.charge", TRACEPARENT))
    try:
        logging.getLogger("dolmen.events").info("charging")
    finally:
        leave(token)
    [line] = lines(stream)
    assert line["module"] == "billing"
    assert line["event_id"] == "ev-9"
    assert line["event_type"] == "orders.OrderPaid"
    assert line["handler"] == "billing.charge"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_structlog_events_pass_through_the_same_pipeline(output: Any) -> None:
    stream, _ = output
    token = enter(request_context())
    try:
        structlog.get_logger("shop.orders").info("order placed", order_id="A-1", api_key="k")
    finally:
        leave(token)
    [line] = lines(stream)
    assert line["logger"] == "shop.orders"
    assert line["message"] == "order placed"
    assert line["order_id"] == "A-1"
    assert line["api_key"] == "********"
    assert line["request_id"] == "req-1"


def test_secret_values_and_fields_are_masked_in_messages_fields_and_tracebacks(
    output: Any,
) -> None:
    stream, _ = output
    log = logging.getLogger("shop")
    log.info("token is s3cr3t-value", extra={"headers": {"Authorization": "Bearer x"}})
    log.info("db", extra={"url": "postgresql://shop:hunter22@db/shop", "password": "p"})
    try:
        raise ValueError("bad s3cr3t-value")
    except ValueError:
        log.exception("failed")
    first, second, third = lines(stream)
    assert first["message"] == "token is ********"
    assert first["headers"] == {"Authorization": "********"}
    assert second["url"] == "postgresql://shop:***@db/shop"
    assert second["password"] == "********"
    assert "ValueError: bad ********" in third["exception"]
    assert "s3cr3t-value" not in stream.getvalue()


def test_the_console_renderer_writes_readable_lines_with_the_context() -> None:
    stream = io.StringIO()
    installed = install(log_handler("console", Redactor(), stream), "INFO")
    try:
        token = enter(request_context())
        try:
            logging.getLogger("dolmen.http").info("GET /orders 200 in 1.0 ms")
        finally:
            leave(token)
        logging.getLogger("shop").debug("below the level")
    finally:
        uninstall(installed)
    [line] = stream.getvalue().splitlines()
    assert "[info     ]" in line
    assert "GET /orders 200 in 1.0 ms" in line
    assert "request_id=req-1" in line
    assert "module=orders" in line
    assert "[dolmen.http]" in line or "logger=dolmen.http" in line
    assert not line.startswith("{")
    assert "\x1b[" not in line  # no colours when the stream is not a terminal


def test_the_filter_gives_other_handlers_the_context_as_attributes() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    token = enter(request_context())
    try:
        LogContextFilter().filter(record)
    finally:
        leave(token)
    assert record.__dict__["request_id"] == "req-1"
    assert record.__dict__["dolmen_module"] == "orders"
    assert record.__dict__["event_id"] is None
    kept = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    kept.__dict__["request_id"] = "from-extra"
    LogContextFilter().filter(kept)
    assert kept.__dict__["request_id"] == "from-extra"


def test_install_replaces_dolmens_own_handler_and_uninstall_puts_it_back() -> None:
    root = logging.getLogger()
    cli_handler = logging.StreamHandler(io.StringIO())
    cli_handler.set_name("dolmen")
    root.addHandler(cli_handler)
    try:
        installed = install(log_handler("json", Redactor(), io.StringIO()), "INFO")
        assert cli_handler not in root.handlers
        uninstall(installed)
        assert cli_handler in root.handlers
    finally:
        root.removeHandler(cli_handler)


@pytest.mark.parametrize(
    ("environment", "setting", "expected"),
    [
        ("dev", "auto", "console"),
        ("prod", "auto", "json"),
        ("staging", "auto", "json"),
        ("dev", "json", "json"),
        ("prod", "console", "console"),
    ],
)
def test_the_format_follows_the_environment_unless_set(
    environment: str, setting: Literal["auto", "json", "console"], expected: str
) -> None:
    settings = ObservabilitySettings(log_format=setting)
    assert settings.effective_format(environment) == expected


def test_two_apps_stopping_in_any_order_leave_the_logging_set_up_as_it_was() -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    first = install(log_handler("json", Redactor(), io.StringIO()), "DEBUG")
    second = install(log_handler("json", Redactor(), io.StringIO()), "WARNING")
    assert first.handler not in root.handlers
    assert second.handler in root.handlers
    uninstall(first)  # the first app stops first: the second's handler stays alone
    assert second.handler in root.handlers
    assert first.handler not in root.handlers
    uninstall(second)
    assert set(root.handlers) == set(before)
    assert root.level == level
