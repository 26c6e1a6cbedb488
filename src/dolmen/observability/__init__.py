"""Observability: structured logs with the request, module and event of every line; metrics."""

from dolmen.observability._context import LogContextFilter
from dolmen.observability._extension import Observability
from dolmen.observability._redaction import Redactor
from dolmen.observability._settings import ObservabilitySettings

__all__ = ["LogContextFilter", "Observability", "ObservabilitySettings", "Redactor"]
