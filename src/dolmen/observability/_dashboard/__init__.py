"""The dashboard at ``/_dolmen/``: requests, module graph, events, traces and configuration.

Only its settings are imported with ``dolmen.observability`` (they are part of the
``[observability]`` section); the dashboard itself (``_dashboard.Dashboard``) is imported when
an app that serves it starts.
"""

from dolmen.observability._dashboard._settings import DashboardSettings

__all__ = ["DashboardSettings"]
