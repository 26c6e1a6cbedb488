"""Traces: a server span per request, a span per module call, a consumer span per delivery.

:func:`start_tracing` picks the tracer provider (the one the user installed, or Dolmen's own
light one, installed globally when there is none) and the dashboard's buffer; the methods
of :class:`Tracing` are what the HTTP entry, the seam and the delivery runner call. Producer
spans are made where events are published (``dolmen.events``), with the global provider.
"""

from __future__ import annotations

import importlib.util
import logging
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, cast

from dolmen.observability._trace_buffer import TraceBuffer

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from dolmen.di import ModuleCall
    from dolmen.events import DeliveryContext
    from dolmen.observability._settings import ObservabilitySettings
    from dolmen.observability._tracing_spans import DolmenSpan

logger = logging.getLogger("dolmen.observability")

_TRACEPARENT = b"traceparent"
_FASTAPI_TELEMETRY = "fastapi.telemetry"
_added: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
"""The buffer processor added to each user's SDK provider (added once, retargeted after)."""


class Tracing:
    """The tracer and buffer of a started app; its methods open and close the spans."""

    def __init__(self, tracer: Tracer, buffer: TraceBuffer, detach_on_stop: Callable[[], None]):
        from opentelemetry import context, trace

        from dolmen.observability._tracing_spans import DolmenSpan

        self._light = DolmenSpan
        self.tracer = tracer
        self.buffer = buffer
        self._stop = detach_on_stop
        self._attach = context.attach
        self._detach = context.detach
        self._in_context = trace.set_span_in_context
        self._names: dict[tuple[str, str, Any, str], tuple[str, dict[str, str]]] = {}
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self._server, self._internal, self._consumer = (
            SpanKind.SERVER,
            SpanKind.INTERNAL,
            SpanKind.CONSUMER,
        )
        self._error = Status(StatusCode.ERROR)

    def stop(self) -> None:
        """Stop feeding the buffer and exporting (the provider itself stays installed)."""
        self._stop()

    def server(self, scope: MutableMapping[str, Any]) -> tuple[Span, Token[Context]]:
        """Open the request's server span (child of the caller's ``traceparent``), current.

        FastAPI's own telemetry (0.16x: a second server span and spans per dependency,
        endpoint and serialization) steps aside, as it does for a request a mounting app
        observes: this span is the request's.
        """
        scope[_FASTAPI_TELEMETRY] = None
        parent = None
        for key, value in scope.get("headers", ()):
            if key == _TRACEPARENT:
                parent = self.remote(bytes(value).decode("latin-1"))
                break
        span = self.tracer.start_span("HTTP", parent, self._server)
        return span, self._attach(self._in_context(span))

    def end_server(
        self,
        opened: tuple[Span, Token[Context]],
        method: str,
        route: str | None,
        status: int,
        module: str | None,
    ) -> None:
        """Name the span after the route template, note the status, end it."""
        span, token = opened
        self._detach(token)
        name = f"{method} {route}" if route is not None else method
        light = type(span) is self._light
        if light:  # Dolmen's own span: its fields, directly
            own = cast("DolmenSpan", span)
            own.name = name
            attributes = own.attributes
            own.module = module
            own.error = own.error or status >= 500
        else:
            span.update_name(name)
            attributes = {}
            if status >= 500:
                span.set_status(self._error)
        attributes["http.request.method"] = method
        attributes["http.response.status_code"] = status
        if route is not None:
            attributes["http.route"] = route
        if module is not None:
            attributes["dolmen.module"] = module
        if not light:
            span.set_attributes(attributes)
        span.end()

    async def call(self, call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        """The span of one cross-module call: ``orders -> catalog.CatalogService.reserve``."""
        key = (call.caller, call.target, call.key, call.method)
        named = self._names.get(key)
        if named is None:
            service = f"{call.target}.{getattr(call.key, '__name__', call.key)}"
            attributes = {
                "dolmen.module": call.target,
                "dolmen.caller": call.caller,
                "rpc.system": "dolmen",
                "rpc.service": service,
                "rpc.method": call.method,
            }
            named = self._names[key] = (f"{call.caller} -> {service}.{call.method}", attributes)
        span = self.tracer.start_span(named[0], None, self._internal, named[1])
        return await self._run(span, proceed)

    async def delivery(
        self, delivery: DeliveryContext, proceed: Callable[[], Awaitable[None]]
    ) -> None:
        """The consumer span of one handler run, continuing the publisher's trace."""
        handler = delivery.handler
        parent = self.remote(delivery.envelope.traceparent)
        span = self.tracer.start_span(
            f"{delivery.event_type} -> {handler}",
            parent,
            self._consumer,
            {
                "dolmen.module": handler.partition(".")[0],
                "messaging.system": "dolmen",
                "messaging.operation.name": "process",
                "messaging.destination.name": delivery.event_type,
                "messaging.message.id": delivery.event_id,
                "messaging.consumer.group.name": handler,
                "dolmen.attempt": delivery.attempt,
            },
        )
        await self._run(span, proceed)

    async def _run(self, span: Span, proceed: Callable[[], Awaitable[Any]]) -> Any:
        token = self._attach(self._in_context(span))
        try:
            return await proceed()
        except Exception as error:
            span.record_exception(error)
            span.set_status(self._error)
            raise
        finally:
            self._detach(token)
            span.end()

    @staticmethod
    def remote(traceparent: str | None) -> Context | None:
        """A context whose current span is the remote parent a ``traceparent`` names."""
        if not traceparent:
            return None
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

        parts = traceparent.strip().split("-")
        if len(parts) < 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
            return None
        try:
            trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
        except ValueError:
            return None
        if not (trace_id and span_id):
            return None
        context = SpanContext(trace_id, span_id, True, TraceFlags(flags & TraceFlags.SAMPLED))
        return trace.set_span_in_context(NonRecordingSpan(context))


def start_tracing(settings: ObservabilitySettings, service_name: str) -> Tracing | None:
    """Traces for an app starting with ``settings``; None when off or not installed."""
    if not settings.traces:
        return None
    if importlib.util.find_spec("opentelemetry.trace") is None:
        logger.info(
            "traces are off: the OpenTelemetry API is not installed; install dolmen[traces]"
        )
        return None
    from opentelemetry import trace

    from dolmen.observability._tracing_spans import DolmenTracerProvider

    buffer = TraceBuffer(settings.trace_buffer_size)
    current = trace.get_tracer_provider()
    if isinstance(current, trace.ProxyTracerProvider):
        trace.set_tracer_provider(DolmenTracerProvider(settings.trace_sample_ratio))
        current = trace.get_tracer_provider()
    if isinstance(current, DolmenTracerProvider):
        return _ours(current, buffer, settings, service_name)
    return _users(current, buffer)


def _ours(
    provider: Any, buffer: TraceBuffer, settings: ObservabilitySettings, service_name: str
) -> Tracing:
    provider.sample(settings.trace_sample_ratio)
    provider.add_buffer(buffer)
    exporter = _exporter(settings.otlp_endpoint, provider, service_name)

    def detach() -> None:
        provider.remove_buffer(buffer)
        if exporter is not None:
            provider.remove_span_processor(exporter)
            exporter.shutdown()

    return Tracing(provider.get_tracer("dolmen"), buffer, detach)


def _exporter(endpoint: str | None, provider: Any, service_name: str) -> Any:
    """The exporting span processor the settings and ``OTEL_*`` ask for, added to ``provider``."""
    if importlib.util.find_spec("opentelemetry.sdk") is None:
        if endpoint or _otel_export_configured():
            logger.warning(
                "traces: OTLP export is configured but the OpenTelemetry SDK is not "
                "installed; install dolmen[otlp] (the dashboard still shows the traces)"
            )
        return None
    from dolmen.observability._tracing_sdk import default_resource, exporter_processor

    processor = exporter_processor(endpoint)
    if processor is not None:
        provider.resource = default_resource(service_name)
        provider.add_span_processor(processor)
    return processor


def _otel_export_configured() -> bool:
    import os

    return any(
        os.environ.get(name)
        for name in (
            "OTEL_TRACES_EXPORTER",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        )
    ) and os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() not in ("none",)


def _users(provider: Any, buffer: TraceBuffer) -> Tracing:
    """A provider the user installed: used as it is; an SDK one also feeds the buffer."""
    processor = None
    if hasattr(provider, "add_span_processor") and importlib.util.find_spec("opentelemetry.sdk"):
        from dolmen.observability._tracing_sdk import BufferProcessor

        processor = _added.get(provider)
        if processor is None:
            processor = _added[provider] = BufferProcessor()
            provider.add_span_processor(processor)
        processor.buffer = buffer
    else:
        logger.info(
            "traces go to your tracer provider (%s); the dashboard shows none: it reads "
            "the spans of an OpenTelemetry SDK provider only",
            type(provider).__name__,
        )

    def detach() -> None:
        if processor is not None and processor.buffer is buffer:
            processor.buffer = None

    return Tracing(provider.get_tracer("dolmen"), buffer, detach)
