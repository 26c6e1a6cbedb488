"""``Observability``: the extension every ``App`` has, first (outermost): logs, for now."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from dolmen.config import ConfigSection
from dolmen.observability._context import DeliveryContext as DeliveryLogContext
from dolmen.observability._context import enter, leave
from dolmen.observability._settings import ObservabilitySettings

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from dolmen.di import Interceptor
    from dolmen.events import DeliveryContext
    from dolmen.modules import App
    from dolmen.observability._setup import Installed, LogHandler
    from dolmen.persistence import Database


class RequestObserver:
    """What each request needs to be observed: an id, the routes' modules and templates.

    Filled by the extension when the app starts; ``access_log`` turns the line off.
    """

    def __init__(self) -> None:
        self.endpoints: Mapping[Any, str] = {}
        self.templates: Mapping[int, str] = {}
        self.active = False
        self.access_log = False
        self.handler: LogHandler | None = None
        """Dolmen's handler when its lines are JSON: the access log may write to it directly."""


SECTION = ConfigSection("observability", ObservabilitySettings, "logs, metrics and traces")


class Observability:
    """Structured logs for every app, with no set-up: Dolmen adds it to each ``App``, first.

    When the app starts it installs one log pipeline for the process (structlog, a handler
    on the root logger): JSON lines, or a readable console in the ``dev`` environment, each
    with its time, level, logger, module and, where they exist, the request id, trace and
    span ids, event id and type and handler; other libraries' records pass through it too;
    secrets are masked. Each HTTP request gets an access line. When the app stops, the
    logging set-up it replaced is put back. ``[observability]`` configures it
    (:class:`ObservabilitySettings`).

    Give one yourself (``App(..., extensions=[Observability(stream=...)])``) to choose where
    the lines go; the app then uses it instead of its own.
    """

    def __init__(self, *, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.requests = RequestObserver()
        self._installed: Installed | None = None

    def section(self) -> ConfigSection:
        """``[observability]``."""
        return SECTION

    def interceptors(self) -> Sequence[Interceptor]:
        """None yet (module-call spans and metrics come with traces and metrics)."""
        return ()

    def delivery_interceptors(
        self,
    ) -> Sequence[Callable[[DeliveryContext, Callable[[], Awaitable[None]]], Awaitable[None]]]:
        """The log context of each handler run: event id and type, handler, module."""
        return (self._delivery_context,)

    async def configure(self, app: App, settings: Any) -> None:
        """Install the log pipeline (unless told not to) and learn the app's routes."""
        from dolmen.http._errors import route_templates
        from dolmen.http._inject import endpoint_modules
        from dolmen.observability._redaction import Redactor
        from dolmen.observability._setup import install, log_handler

        assert isinstance(settings, ObservabilitySettings)  # the section's model
        self._uninstall()
        self.requests.handler = None
        self.requests.active = settings.enabled
        self.requests.access_log = settings.access_log
        mounted = [(m, router) for m in app.modules for router in m.routers]
        self.requests.endpoints = endpoint_modules((m.name, r) for m, r in mounted)
        self.requests.templates = route_templates((m.prefix, r) for m, r in mounted)
        if settings.enabled and settings.configure_logging:
            config = app.config
            redactor = Redactor.of(config, settings.redact_keys)
            log_format = settings.effective_format(config.environment)
            handler = log_handler(log_format, redactor, self.stream)
            self._installed = install(handler, settings.log_level)
            self.requests.handler = handler if handler.json else None

    async def on_database(self, database: Database) -> None:
        """Nothing yet (the outbox gauges come with metrics)."""

    async def start(self) -> None:
        """No background work yet."""

    async def stop(self) -> None:
        """Put back the logging set-up the app found."""
        self.requests.active = False
        self.requests.handler = None
        self._uninstall()

    def routers(self) -> Sequence[APIRouter]:
        """None yet (``/metrics`` comes with metrics)."""
        return ()

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """Each request's log context and access line (see :class:`ObservedRequests`)."""
        from dolmen.observability._access import ObservedRequests

        return ObservedRequests(asgi, self.requests)

    def _uninstall(self) -> None:
        if self._installed is not None:
            from dolmen.observability._setup import uninstall

            uninstall(self._installed)
            self._installed = None

    async def _delivery_context(
        self, delivery: DeliveryContext, proceed: Callable[[], Awaitable[None]]
    ) -> None:
        token = enter(
            DeliveryLogContext(
                delivery.event_id,
                delivery.event_type,
                delivery.handler,
                delivery.envelope.traceparent,
            )
        )
        try:
            await proceed()
        finally:
            leave(token)
