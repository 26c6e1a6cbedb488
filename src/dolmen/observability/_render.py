"""How a record becomes a line: its fields in a fixed order, then JSON or a readable console.

Both Dolmen's records and other libraries' (``logging``) and structlog's own events pass
through :func:`formatter`, a structlog ``ProcessorFormatter``: one pipeline for every line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, MutableMapping
from typing import Any, Literal

from dolmen.observability._context import (
    CONTEXT_FIELDS,
    MODULE_ATTRIBUTE,
    RECORD_ATTRIBUTES,
    current_fields,
)
from dolmen.observability._redaction import Redactor

_STANDARD = {
    *vars(logging.LogRecord("", 0, "", 0, "", (), None)),
    "message",
    "asctime",
    "taskName",
    "_logger",  # structlog's wrap_for_formatter
    "_name",
    *RECORD_ATTRIBUTES.values(),
}

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


class IsoClock:
    """ISO 8601 UTC times with milliseconds, the seconds part formatted once per second."""

    __slots__ = ("second", "text")

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self.second:
            self.text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self.second = second
        return f"{self.text}.{int((created - second) * 1000):03d}Z"


class Shape:
    """The processor that gives every line the same fields, in the same order.

    time, level, logger, message, module, then the context's request id, trace and span
    ids, event id and type, handler (those that exist), then the record's own fields
    (``extra=``, structlog's keyword arguments), secret-looking ones masked.
    """

    def __init__(self, redactor: Redactor, *, console: bool) -> None:
        self.redactor = redactor
        self.console = console
        self.time_key, self.message_key = ("timestamp", "event") if console else ("time", "message")
        self.clock = IsoClock()

    def __call__(self, _: Any, __: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
        """Shape one event dict (``_record`` is the ``logging`` record behind it)."""
        record: logging.LogRecord = event.pop("_record")
        event.pop("_from_structlog", None)
        attributes = record.__dict__
        line: dict[str, Any] = {
            self.time_key: self.clock(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            self.message_key: event.pop("event", ""),
        }
        context = None
        for field in CONTEXT_FIELDS:
            value = attributes.get(RECORD_ATTRIBUTES[field])
            if value is None and MODULE_ATTRIBUTE not in attributes:
                # Not seen by LogContextFilter (formatted by another handler): read it here.
                context = current_fields() if context is None else context
                value = context.get(field)
            if value is not None or (field == "module" and not self.console):
                line[field] = value
        for key, value in attributes.items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        exc_info = event.pop("exc_info", None)
        line.update(event)
        self.redactor.fields(line)
        if exc_info:
            _add_exception(line, exc_info, console=self.console)
        return line


def _add_exception(line: dict[str, Any], exc_info: Any, *, console: bool) -> None:
    if exc_info is True:
        exc_info = sys.exc_info()
    elif isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if not isinstance(exc_info, tuple) or exc_info[0] is None:
        return
    if console:
        line["exc_info"] = exc_info  # the console renderer prints the traceback
    else:
        line["exception"] = "".join(traceback.format_exception(*exc_info)).rstrip()


def formatter(
    log_format: Literal["json", "console"], redactor: Redactor, *, colors: bool = False
) -> logging.Formatter:
    """The formatter of Dolmen's handler: every record as one JSON line or a console line."""
    import structlog

    render: Callable[[Any, str, MutableMapping[str, Any]], str]
    if log_format == "json":

        def render(_: Any, __: str, line: MutableMapping[str, Any]) -> str:
            return redactor.text(_JSON.encode(line))

    else:
        console = structlog.dev.ConsoleRenderer(
            colors=colors, sort_keys=False, exception_formatter=structlog.dev.plain_traceback
        )

        def render(logger: Any, name: str, line: MutableMapping[str, Any]) -> str:
            return redactor.text(console(logger, name, line))

    shape = Shape(redactor, console=log_format == "console")
    return structlog.stdlib.ProcessorFormatter(processors=[shape, render])
