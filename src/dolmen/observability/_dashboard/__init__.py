"""The dashboard at ``/_dolmen/``: requests, module graph, events, traces and configuration."""

from dolmen.observability._dashboard._dashboard import Dashboard
from dolmen.observability._dashboard._settings import DashboardSettings
from dolmen.observability._dashboard._state import TraceSource

__all__ = ["Dashboard", "DashboardSettings", "TraceSource"]
