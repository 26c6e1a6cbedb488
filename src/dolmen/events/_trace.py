"""The W3C trace context of the publisher, stored with each event when there is one.

Dolmen does not depend on OpenTelemetry: when ``opentelemetry-api`` is installed and a span is
active, the event's envelope keeps its ``traceparent`` so that the handler's work can be
linked to the request that published it (the observability work reads it back).
"""

from __future__ import annotations

import functools
from collections.abc import Callable


def current_traceparent() -> str | None:
    """The active span's ``traceparent`` header value, or None."""
    inject = _injector()
    if inject is None:
        return None
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


@functools.cache
def _injector() -> Callable[[dict[str, str]], None] | None:
    try:
        from opentelemetry.propagate import inject
    except ImportError:
        return None
    return inject
