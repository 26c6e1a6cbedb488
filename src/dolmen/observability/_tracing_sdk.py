"""What traces take from the OpenTelemetry SDK: exported spans, a user's provider, OTLP.

Imported only when the SDK is needed: a span processor to export to (OTLP, a test's
in-memory exporter), or an SDK provider the user installed, whose ended spans Dolmen's
buffer reads through :class:`BufferProcessor`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from dolmen.observability._tracing_spans import MODULE_ATTRIBUTE, DolmenSpan

if TYPE_CHECKING:
    from dolmen.observability._trace_buffer import AttributeValue, TraceBuffer

logger = logging.getLogger("dolmen.observability")

_KINDS = {
    "internal": SpanKind.INTERNAL,
    "server": SpanKind.SERVER,
    "client": SpanKind.CLIENT,
    "producer": SpanKind.PRODUCER,
    "consumer": SpanKind.CONSUMER,
}
_NAMES = {kind: name for name, kind in _KINDS.items()}
_SCOPE = InstrumentationScope("dolmen")
_OK = Status(StatusCode.UNSET)
_ERROR = Status(StatusCode.ERROR)


def default_resource(service_name: str | None) -> Resource:
    """The SDK resource (``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win)."""
    attributes = {} if service_name is None else {"service.name": service_name}
    if os.environ.get("OTEL_SERVICE_NAME"):
        attributes = {}
    return Resource.create(attributes)


def readable(span: DolmenSpan, resource: Resource | None) -> ReadableSpan:
    """The SDK's view of one of Dolmen's spans, as span processors and exporters take it."""
    flags = TraceFlags(TraceFlags.SAMPLED if span.sampled else TraceFlags.DEFAULT)
    parent = None
    if span.parent_id is not None:
        parent = SpanContext(span.trace_id, span.parent_id, span.parent_remote, flags)
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=parent,
        resource=resource,
        attributes=dict(span.attributes),
        kind=_KINDS.get(span.kind, SpanKind.INTERNAL),
        status=_ERROR if span.error else _OK,
        start_time=span.start_ns,
        end_time=span.end_ns,
        instrumentation_scope=_SCOPE,
    )


@dataclass(slots=True)
class _Ended:
    """An SDK span as the buffer reads it."""

    trace_id: int
    span_id: int
    parent_id: int | None
    parent_remote: bool
    name: str
    kind: str
    module: str | None
    start_ns: int
    end_ns: int
    error: bool
    sampled: bool
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


class BufferProcessor(SpanProcessor):
    """Feeds the spans of a user's SDK provider into Dolmen's buffer (added once per provider)."""

    def __init__(self) -> None:
        self.buffer: TraceBuffer | None = None

    def on_end(self, span: ReadableSpan) -> None:
        """Record the span (when a Dolmen app is running)."""
        buffer = self.buffer
        context = span.context
        if buffer is None or context is None:
            return
        parent = span.parent
        attributes: dict[str, Any] = dict(span.attributes or {})
        module = attributes.get(MODULE_ATTRIBUTE)
        buffer.ended(
            _Ended(
                trace_id=context.trace_id,
                span_id=context.span_id,
                parent_id=None if parent is None else parent.span_id,
                parent_remote=parent is not None and parent.is_remote,
                name=span.name,
                kind=_NAMES.get(span.kind, "internal"),
                module=None if module is None else str(module),
                start_ns=span.start_time or 0,
                end_ns=span.end_time or 0,
                error=span.status.status_code is StatusCode.ERROR,
                sampled=context.trace_flags.sampled,
                attributes=attributes,
            )
        )


def exporter_processor(endpoint: str | None) -> SpanProcessor | None:
    """A batch processor to the configured exporter, or None when none is configured.

    ``endpoint`` (Dolmen's setting) or ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`` turns on OTLP
    over HTTP; ``OTEL_TRACES_EXPORTER`` chooses (``otlp``, ``console`` or ``none``).
    """
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    configured = (
        endpoint
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or (os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))
    )
    if chosen == "none" or not (chosen or configured):
        return None
    if chosen == "console":
        return BatchSpanProcessor(ConsoleSpanExporter())
    if chosen not in ("", "otlp"):
        logger.warning(
            "OTEL_TRACES_EXPORTER=%s is not one Dolmen sets up (otlp, console, none): "
            "no spans are exported; install your own tracer provider for it",
            chosen,
        )
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        logger.warning(
            "traces: OTLP export is configured but its exporter is not installed; "
            "install dolmen[otlp] (no spans are exported meanwhile)"
        )
        return None
    if endpoint:
        endpoint = endpoint.rstrip("/")
        if not endpoint.endswith("/v1/traces"):
            endpoint += "/v1/traces"
    return BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint or None))
