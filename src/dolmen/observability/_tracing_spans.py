"""Dolmen's tracer provider: OpenTelemetry API spans that cost a few microseconds.

A stock SDK span costs 15 to 30 µs on a small machine (locks, bounded attribute maps, a copy
at its end). These spans implement the OpenTelemetry API (``trace.get_current_span()``,
``start_as_current_span``, attributes, status) with slots and plain dicts; every span is
recorded into the dashboard's buffer, and the sampled ones go, converted to the SDK's
``ReadableSpan``, to the span processors added with :meth:`DolmenTracerProvider.add_span_processor`
(an OTLP ``BatchSpanProcessor``, or a test's ``SimpleSpanProcessor(InMemorySpanExporter())``).
Sampling is parent-based with a trace-id ratio for roots, like the SDK's
``ParentBased(TraceIdRatioBased(ratio))``; a span the ratio drops is still recorded.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TracerProvider,
    use_span,
)

if TYPE_CHECKING:
    from opentelemetry.util import types

    from dolmen.observability._trace_buffer import AttributeValue, TraceBuffer

_KINDS = {
    SpanKind.INTERNAL: "internal",
    SpanKind.SERVER: "server",
    SpanKind.CLIENT: "client",
    SpanKind.PRODUCER: "producer",
    SpanKind.CONSUMER: "consumer",
}
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_LOW_64 = (1 << 64) - 1
MODULE_ATTRIBUTE = "dolmen.module"
"""The attribute that names the Dolmen module a span's work belongs to."""


class DolmenSpan(Span):
    """A recording span: plain slots, ended once, handed to its provider at its end."""

    __slots__ = (
        "_context",
        "_provider",
        "attributes",
        "end_ns",
        "error",
        "kind",
        "module",
        "name",
        "parent_id",
        "parent_remote",
        "sampled",
        "span_id",
        "start_ns",
        "trace_id",
    )

    def __init__(
        self,
        provider: DolmenTracerProvider,
        name: str,
        kind: str,
        trace_id: int,
        parent_id: int | None,
        parent_remote: bool,
        sampled: bool,
        attributes: dict[str, AttributeValue],
        start_ns: int,
    ) -> None:
        self._provider: DolmenTracerProvider | None = provider
        self._context: SpanContext | None = None
        self.name = name
        self.kind = kind
        self.trace_id = trace_id
        self.span_id = random.getrandbits(64) or 1
        self.parent_id = parent_id
        self.parent_remote = parent_remote
        self.sampled = sampled
        self.attributes = attributes
        module = attributes.get(MODULE_ATTRIBUTE)
        self.module = None if module is None else str(module)
        self.start_ns = start_ns
        self.end_ns = 0
        self.error = False

    def get_span_context(self) -> SpanContext:
        """The span's ids and sampled flag (made once, when first asked)."""
        context = self._context
        if context is None:
            flags = _SAMPLED if self.sampled else _NOT_SAMPLED
            context = self._context = SpanContext(self.trace_id, self.span_id, False, flags)
        return context

    def end(self, end_time: int | None = None) -> None:
        """End the span (once; later calls do nothing) and hand it to the provider."""
        provider = self._provider
        if provider is None:
            return
        self._provider = None
        self.end_ns = time.time_ns() if end_time is None else end_time
        provider.ended(self)

    def is_recording(self) -> bool:
        """True until the span ends."""
        return self._provider is not None

    def set_attribute(self, key: str, value: types.AnyValue) -> None:
        """Set one attribute (``dolmen.module`` also names the span's module)."""
        if self._provider is not None:
            self.attributes[key] = value  # type: ignore[assignment]  # the API's wider AnyValue
            if key == MODULE_ATTRIBUTE:
                self.module = str(value)

    def set_attributes(self, attributes: Mapping[str, types.AnyValue]) -> None:
        """Set several attributes."""
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        """Events are not kept by Dolmen's spans (use an SDK provider of yours for them)."""

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        """Links are not kept by Dolmen's spans."""

    def update_name(self, name: str) -> None:
        """Rename the span."""
        if self._provider is not None:
            self.name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        """An ``ERROR`` status marks the span failed; ``OK`` or ``UNSET`` clears it."""
        code = status.status_code if isinstance(status, Status) else status
        if self._provider is not None:
            self.error = code is StatusCode.ERROR

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        """Mark the span failed and note the exception's type."""
        if self._provider is not None:
            self.error = True
            self.attributes["exception.type"] = type(exception).__qualname__

    def __repr__(self) -> str:
        return f"DolmenSpan({self.name!r}, trace_id={self.trace_id:032x})"


class DolmenTracer(Tracer):
    """Starts :class:`DolmenSpan` objects under the provider's sampling."""

    def __init__(self, provider: DolmenTracerProvider) -> None:
        self.provider = provider

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        """A new recording span, child of the current (or given context's) span."""
        provider = self.provider
        if not provider.buffers and not provider.span_processors:
            return INVALID_SPAN  # no app runs: nobody would read the span
        parent = trace.get_current_span(context)
        if type(parent) is DolmenSpan:  # not isinstance: Span is an ABC, slow to check
            trace_id, parent_id = parent.trace_id, parent.span_id
            remote, sampled = False, parent.sampled
        else:
            found = parent.get_span_context()
            if found.is_valid:
                trace_id, parent_id = found.trace_id, found.span_id
                remote, sampled = found.is_remote, found.trace_flags.sampled
            else:
                trace_id, parent_id, remote = random.getrandbits(128) or 1, None, False
                sampled = (trace_id & _LOW_64) < provider.bound
        return DolmenSpan(
            provider,
            name,
            _KINDS.get(kind, "internal"),
            trace_id,
            parent_id,
            remote,
            sampled,
            dict(attributes) if attributes else {},  # type: ignore[arg-type]  # AnyValue
            time.time_ns() if start_time is None else start_time,
        )

    @contextlib.contextmanager
    def start_as_current_span(  # type: ignore[override]  # the API's decorator is private
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        """Start a span, make it current, end it on leaving (marking it failed on an error)."""
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class DolmenTracerProvider(TracerProvider):
    """The provider Dolmen installs when you installed none (a user's is used as it is).

    Every span goes to :attr:`buffer`; the sampled ones, as SDK ``ReadableSpan`` objects, to the
    span processors you add (the SDK is then needed).
    """

    def __init__(self, ratio: float = 1.0) -> None:
        self.bound = 0
        self.ratio = 0.0
        self.sample(ratio)
        self.buffers: tuple[TraceBuffer, ...] = ()
        """The buffers of the apps running in the process (usually one): each gets every span."""
        self.resource: Any = None
        """The SDK ``Resource`` the exported spans carry (made when a processor is added)."""
        self._processors: tuple[Any, ...] = ()
        self._tracer = DolmenTracer(self)
        self._lock = threading.Lock()

    def sample(self, ratio: float) -> None:
        """Sample ``ratio`` (0 to 1) of the new traces; a child follows its parent."""
        self.ratio = min(max(ratio, 0.0), 1.0)
        self.bound = round(self.ratio * (1 << 64))

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> Tracer:
        """Dolmen's one tracer (the instrumentation's name is not kept)."""
        return self._tracer

    def add_span_processor(self, processor: Any) -> None:
        """Hand the sampled spans, as SDK ``ReadableSpan`` objects, to an SDK span processor."""
        from dolmen.observability._tracing_sdk import default_resource

        with self._lock:
            if self.resource is None:
                self.resource = default_resource(None)
            self._processors = (*self._processors, processor)

    def add_buffer(self, buffer: TraceBuffer) -> None:
        """Record every span into ``buffer`` too (an app that starts)."""
        with self._lock:
            self.buffers = (*self.buffers, buffer)

    def remove_buffer(self, buffer: TraceBuffer) -> None:
        """Stop recording into ``buffer`` (its app stopped)."""
        with self._lock:
            self.buffers = tuple(b for b in self.buffers if b is not buffer)

    def remove_span_processor(self, processor: Any) -> None:
        """Stop handing spans to ``processor`` (it is not shut down)."""
        with self._lock:
            self._processors = tuple(p for p in self._processors if p is not processor)

    @property
    def span_processors(self) -> Sequence[Any]:
        """The span processors added."""
        return self._processors

    def ended(self, span: DolmenSpan) -> None:
        """A span ended: into the buffer; when sampled, to each span processor."""
        for buffer in self.buffers:
            buffer.ended(span)
        processors = self._processors
        if processors and span.sampled:
            from dolmen.observability._tracing_sdk import readable

            finished = readable(span, self.resource)
            for processor in processors:
                processor.on_end(finished)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush every span processor."""
        return all(p.force_flush(timeout_millis) for p in self._processors)

    def shutdown(self) -> None:
        """Shut every span processor down."""
        for processor in self._processors:
            processor.shutdown()
