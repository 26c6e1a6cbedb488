"""Observability: structured logs, metrics, and traces kept for the dashboard."""

from dolmen.observability._context import LogContextFilter, current_request_id
from dolmen.observability._extension import Observability
from dolmen.observability._redaction import Redactor
from dolmen.observability._settings import ObservabilitySettings
from dolmen.observability._trace_buffer import SpanRecord, TraceBuffer, TraceSummary

__all__ = [
    "LogContextFilter",
    "Observability",
    "ObservabilitySettings",
    "Redactor",
    "SpanRecord",
    "TraceBuffer",
    "TraceSummary",
    "current_request_id",
]
