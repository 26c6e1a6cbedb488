"""The log context: what every line says about where it was logged (request, module, event).

It is set once per request by the HTTP entry and once per handler run by the delivery runner,
in one context variable, and read only when a line is written: a request that logs nothing
pays for one ``ContextVar.set`` and its reset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

from dolmen.observability._trace import active_span_ids, trace_id_of

CONTEXT_FIELDS = (
    "module",
    "request_id",
    "trace_id",
    "span_id",
    "event_id",
    "event_type",
    "handler",
)
"""The fields a line may carry from its context, in the order they are written."""

MODULE_ATTRIBUTE = "dolmen_module"
"""The record attribute of the Dolmen module (``record.module`` is Python's source module)."""

RECORD_ATTRIBUTES = {
    "request_id": "request_id",
    "trace_id": "trace_id",
    "span_id": "span_id",
    "event_id": "event_id",
    "event_type": "event_type",
    "handler": "handler",
    "module": MODULE_ATTRIBUTE,
}
"""Each context field and the record attribute :class:`LogContextFilter` writes it to."""

_TRACEPARENT = b"traceparent"


class LogContext:
    """Where the code that logs is running; :meth:`fields` is read when a line is written."""

    __slots__ = ()

    def fields(self) -> dict[str, str]:
        """The context's fields that exist (see :data:`CONTEXT_FIELDS`)."""
        raise NotImplementedError


class RequestContext(LogContext):
    """One HTTP request: its id, and (once routed) the module whose route serves it."""

    __slots__ = ("endpoints", "request_id", "scope")

    def __init__(self, scope: Mapping[str, Any], request_id: str, endpoints: Mapping[Any, str]):
        self.scope = scope
        self.request_id = request_id
        self.endpoints = endpoints

    def fields(self) -> dict[str, str]:
        """The request id, the module (after routing) and the trace ids (when traced)."""
        fields = {"request_id": self.request_id}
        module = self.endpoints.get(self.scope.get("endpoint"))
        if module is not None:
            fields["module"] = module
        ids = active_span_ids()
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
        else:
            trace_id = trace_id_of(_header(self.scope, _TRACEPARENT))
            if trace_id is not None:
                fields["trace_id"] = trace_id
        return fields


class DeliveryContext(LogContext):
    """One run of an event handler: the event, the handler and its module."""

    __slots__ = ("_fields",)

    def __init__(
        self, event_id: str, event_type: str, handler: str, traceparent: str | None
    ) -> None:
        fields = {
            "module": handler.partition(".")[0],
            "event_id": event_id,
            "event_type": event_type,
            "handler": handler,
        }
        trace_id = trace_id_of(traceparent)
        if trace_id is not None:
            fields["trace_id"] = trace_id
        self._fields = fields

    def fields(self) -> dict[str, str]:
        """The event's id and type, the handler, its module and the publisher's trace id."""
        ids = active_span_ids()
        if ids is None:
            return self._fields
        return {**self._fields, "trace_id": ids[0], "span_id": ids[1]}


_current: ContextVar[LogContext | None] = ContextVar("dolmen_log_context", default=None)


def current_fields() -> dict[str, str]:
    """The fields of the context the caller runs in (empty outside requests and handlers)."""
    context = _current.get()
    return {} if context is None else context.fields()


def current_request_id() -> str | None:
    """The id of the HTTP request the caller runs in (None outside one, or with logs off).

    A call to another unit sends it on (``X-Request-ID``), so the lines both units log for
    one request share its id.
    """
    context = _current.get()
    return context.request_id if isinstance(context, RequestContext) else None


def enter(context: LogContext) -> Token[LogContext | None]:
    """Make ``context`` current until :func:`leave` with the returned token."""
    return _current.set(context)


def leave(token: Token[LogContext | None]) -> None:
    """Restore the context that was current before :func:`enter`."""
    _current.reset(token)


class LogContextFilter(logging.Filter):
    """Copies the log context into each record it sees, as attributes (``record.request_id``).

    Dolmen puts it on its own handler; add it to a handler of yours to read the context in
    a format string (``%(request_id)s``, ``%(dolmen_module)s``: ``module`` is taken by
    Python's source module) when you keep your own logging set-up. A field the record
    already has (from ``extra=``) is kept; a field with no value is ``None``.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the fields; never drops a record."""
        fields = current_fields()
        attributes = record.__dict__
        for name in CONTEXT_FIELDS:
            attribute = RECORD_ATTRIBUTES[name]
            if attribute not in attributes:
                attributes[attribute] = fields.get(name)
        return True


def _header(scope: Mapping[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
