"""The W3C trace context of the publisher, stored with each event when there is one.

Dolmen does not depend on OpenTelemetry: when ``opentelemetry-api`` is installed and a span is
recording, publishing an event opens and closes a producer span (``publish orders.OrderPlaced``)
with the installed tracer provider, and the event's envelope keeps that span's
``traceparent``, so the handlers' consumer spans continue the publisher's trace.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

_Api = tuple[Callable[[], Any], Callable[[], Any], Callable[[dict[str, str]], None], Any]


def current_traceparent(event_type: str | None = None, module: str | None = None) -> str | None:
    """The ``traceparent`` to store with an event; a producer span's when one is recording.

    With ``event_type`` (the publishing module's event) and a span recording, a producer
    span ``publish <event_type>`` is opened and closed, and its context is the one returned.
    """
    api = _api()
    if api is None:
        return None
    get_current_span, get_tracer_provider, inject, producer = api
    if event_type is not None and get_current_span().is_recording():
        attributes: dict[str, Any] = {
            "messaging.system": "dolmen",
            "messaging.operation.name": "publish",
            "messaging.destination.name": event_type,
        }
        if module is not None:
            attributes["dolmen.module"] = module
        tracer = get_tracer_provider().get_tracer("dolmen.events")
        span = tracer.start_span(f"publish {event_type}", kind=producer, attributes=attributes)
        context = span.get_span_context()
        span.end()
        if context.is_valid:
            flags = int(context.trace_flags)
            return f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@functools.cache
def _api() -> _Api | None:
    try:
        from opentelemetry.propagate import inject
        from opentelemetry.trace import SpanKind, get_current_span, get_tracer_provider
    except ImportError:
        return None
    return get_current_span, get_tracer_provider, inject, SpanKind.PRODUCER
