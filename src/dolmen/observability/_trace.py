"""Trace and span ids for the log lines, read from OpenTelemetry or a ``traceparent``.

Dolmen does not depend on OpenTelemetry: when ``opentelemetry-api`` is installed and a span
is recording, its ids are used; otherwise the W3C ``traceparent`` the request came with (or
the one stored with the event) gives the trace id.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}")
_INVALID_TRACE = "0" * 32


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` value, or None when there is none usable."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match.group(1) == _INVALID_TRACE:
        return None
    return match.group(1)


def active_span_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the active OpenTelemetry span, in hex; None without one."""
    found = _api()
    if found is None:
        return None
    span = found[0]()
    trace_id = getattr(span, "trace_id", None)  # Dolmen's own spans: their ids, directly
    if type(trace_id) is int:
        return f"{trace_id:032x}", f"{span.span_id:016x}"
    current = _current_span()
    if current is None:
        return None
    context = current().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def _current_span() -> Callable[[], Any] | None:
    """OpenTelemetry's ``get_current_span`` once a tracer provider is set, else None.

    Without a provider (only the API installed, or nothing set up yet) no span records,
    so the lookup is skipped; once one is set, it stays.
    """
    found = _api()
    if found is None:
        return None
    get_current_span, get_tracer_provider, proxy = found
    return None if isinstance(get_tracer_provider(), proxy) else get_current_span


@functools.cache
def _api() -> tuple[Callable[[], Any], Callable[[], Any], type] | None:
    try:
        from opentelemetry.trace import (
            ProxyTracerProvider,
            get_current_span,
            get_tracer_provider,
        )
    except ImportError:
        return None
    return get_current_span, get_tracer_provider, ProxyTracerProvider
