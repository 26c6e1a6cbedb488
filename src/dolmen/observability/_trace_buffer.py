"""The dashboard's traces: a bounded buffer that keeps the failed, the slowest and the recent.

Every span is recorded (cheaply); the keep-or-drop decision is taken when a trace's root
span ends (the request's server span, or a consumer span whose parent came with an event):
a trace is kept when head sampling sampled it, when one of its spans failed, or when it is
among the slowest. Spans that end later in a kept trace (event handlers run after the
request answered) join it by trace id.
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

AttributeValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """One finished span as the dashboard shows it (ids in lower-case hex)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    """``server``, ``internal``, ``client``, ``producer`` or ``consumer``."""
    module: str | None
    start_ns: int
    """Since the epoch."""
    end_ns: int
    error: bool
    attributes: Mapping[str, AttributeValue]


@dataclass(frozen=True, slots=True)
class TraceSummary:
    """One kept trace in a list: its root span's name and module, its extent, its size."""

    trace_id: str
    root: str
    module: str | None
    start_ns: int
    duration_ns: int
    error: bool
    spans: int


class EndedSpan(Protocol):
    """What the buffer reads of a span that ended (Dolmen's own spans, or converted ones)."""

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

    @property
    def attributes(self) -> Mapping[str, AttributeValue]:
        """The span's attributes."""


class _Trace:
    __slots__ = ("duration", "error", "root", "spans", "start")

    def __init__(self, spans: list[EndedSpan], root: EndedSpan, error: bool) -> None:
        self.spans = spans
        self.root = root
        self.error = error
        start, end = root.start_ns, root.end_ns
        for span in spans:
            if span.start_ns < start:
                start = span.start_ns
            if span.end_ns > end:
                end = span.end_ns
        self.start = start
        self.duration = end - start

    def add(self, span: EndedSpan) -> None:
        self.spans.append(span)
        self.error = self.error or span.error
        if span.start_ns < self.start:
            self.duration += self.start - span.start_ns
            self.start = span.start_ns
        self.duration = max(self.duration, span.end_ns - self.start)


class TraceBuffer:
    """The last traces, bounded: ``size`` recent ones, plus the failed and the ``slowest``.

    :meth:`ended` is called with each span that ends; :meth:`summaries` and :meth:`trace`
    are what the dashboard reads. Thread-safe (handlers may run in threads).
    """

    def __init__(
        self,
        size: int = 200,
        *,
        failed: int = 50,
        slowest: int = 20,
        spans_per_trace: int = 500,
        pending: int = 1000,
    ) -> None:
        self.size = size
        self.most_failed = failed
        self.most_slowest = slowest
        self.spans_per_trace = spans_per_trace
        self.most_pending = pending
        self._lock = threading.Lock()
        self._traces: dict[int, _Trace] = {}
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._failed: OrderedDict[int, None] = OrderedDict()
        self._slowest: list[tuple[int, int]] = []  # a min-heap of (duration, trace id)
        self._slow: set[int] = set()
        self._pending: OrderedDict[int, list[EndedSpan]] = OrderedDict()

    def ended(self, span: EndedSpan) -> None:
        """Record a span that ended; decide on its trace when it is a root."""
        trace_id = span.trace_id
        with self._lock:
            kept = self._traces.get(trace_id)
            if kept is not None:
                if len(kept.spans) < self.spans_per_trace:
                    kept.add(span)
                    if span.error:
                        self._mark_failed(trace_id)
                return
            spans = self._pending.get(trace_id)
            if spans is None:
                spans = self._pending[trace_id] = []
                if len(self._pending) > self.most_pending:
                    self._pending.popitem(last=False)
            if len(spans) < self.spans_per_trace:
                spans.append(span)
            if span.parent_id is None or span.parent_remote:
                del self._pending[trace_id]
                self._decide(trace_id, span, spans)

    def _decide(self, trace_id: int, root: EndedSpan, spans: list[EndedSpan]) -> None:
        error = False
        for span in spans:
            error = error or span.error
        duration = root.end_ns - root.start_ns
        slowest = self._slowest
        slow = self.most_slowest > 0 and (
            len(slowest) < self.most_slowest or duration > slowest[0][0]
        )
        if not (root.sampled or error or slow):
            return
        self._traces[trace_id] = _Trace(spans, root, error)
        if slow:
            self._slow.add(trace_id)
            if len(self._slowest) < self.most_slowest:
                heapq.heappush(self._slowest, (duration, trace_id))
            else:
                faster = heapq.heapreplace(self._slowest, (duration, trace_id))[1]
                self._slow.discard(faster)
                self._release(faster)
        if error:
            self._mark_failed(trace_id)
        self._recent[trace_id] = None
        if len(self._recent) > self.size:
            self._release(self._recent.popitem(last=False)[0])

    def _mark_failed(self, trace_id: int) -> None:
        if trace_id in self._failed:
            return
        self._failed[trace_id] = None
        if len(self._failed) > self.most_failed:
            self._release(self._failed.popitem(last=False)[0])

    def _release(self, trace_id: int) -> None:
        """Forget a trace that no list holds any more."""
        if not (trace_id in self._recent or trace_id in self._failed or trace_id in self._slow):
            self._traces.pop(trace_id, None)

    def summaries(self, limit: int = 50) -> list[TraceSummary]:
        """The kept traces: failed first (latest first), then slowest, then most recent."""
        with self._lock:
            order = list(reversed(self._failed))
            order += [t for _, t in sorted(self._slowest, reverse=True)]
            order += list(reversed(self._recent))
            seen: set[int] = set()
            found: list[TraceSummary] = []
            for trace_id in order:
                kept = self._traces.get(trace_id)
                if kept is None or trace_id in seen:
                    continue
                seen.add(trace_id)
                found.append(_summary(trace_id, kept))
                if len(found) >= limit:
                    break
            return found

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """The spans of one kept trace, by start time; [] for a trace it does not hold."""
        try:
            key = int(trace_id, 16)
        except ValueError:
            return []
        with self._lock:
            kept = self._traces.get(key)
            spans = [] if kept is None else list(kept.spans)
        return sorted((record_of(s) for s in spans), key=lambda r: (r.start_ns, r.end_ns))

    def clear(self) -> None:
        """Forget every trace."""
        with self._lock:
            self._traces.clear()
            self._recent.clear()
            self._failed.clear()
            self._slowest.clear()
            self._slow.clear()
            self._pending.clear()


def _summary(trace_id: int, kept: _Trace) -> TraceSummary:
    return TraceSummary(
        trace_id=f"{trace_id:032x}",
        root=kept.root.name,
        module=kept.root.module,
        start_ns=kept.start,
        duration_ns=kept.duration,
        error=kept.error,
        spans=len(kept.spans),
    )


def record_of(span: EndedSpan) -> SpanRecord:
    """The dashboard's record of a span."""
    return SpanRecord(
        trace_id=f"{span.trace_id:032x}",
        span_id=f"{span.span_id:016x}",
        parent_id=None if span.parent_id is None else f"{span.parent_id:016x}",
        name=span.name,
        kind=span.kind,
        module=span.module,
        start_ns=span.start_ns,
        end_ns=span.end_ns,
        error=span.error,
        attributes=dict(span.attributes),
    )
