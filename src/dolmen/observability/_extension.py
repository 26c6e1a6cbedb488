"""``Observability``: the extension every ``App`` has, first (outermost): logs and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from dolmen.config import ConfigSection
from dolmen.di import Interceptor, InterceptorRole
from dolmen.observability._context import DeliveryContext as DeliveryLogContext
from dolmen.observability._context import enter, leave
from dolmen.observability._settings import ObservabilitySettings

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from dolmen.di import ModuleCall
    from dolmen.events import DeliveryContext, Retry
    from dolmen.observability._dashboard._dashboard import Dashboard
    from dolmen.observability._lag import LagSource
    from dolmen.observability._metrics import Metrics
    from dolmen.observability._setup import Installed, LogHandler
    from dolmen.observability._trace_buffer import TraceBuffer
    from dolmen.observability._tracing import Tracing
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
        self.metrics: Metrics | None = None
        self.metrics_path = "/metrics"
        self.tracing: Tracing | None = None
        self.dashboard: Dashboard | None = None
        """The dashboard, served below its path before anything else (not counted, not logged)."""


logger = logging.getLogger("dolmen.observability")

OBSERVABILITY = InterceptorRole.OBSERVABILITY

SECTION = ConfigSection("observability", ObservabilitySettings, "logs, metrics and traces")


class Observability:
    """Structured logs and metrics for every app, with no set-up; each ``App`` has one, first.

    When the app starts it installs one log pipeline for the process (structlog, a handler
    on the root logger): JSON lines, or a readable console in the ``dev`` environment, each
    with its time, level, logger, module and, where they exist, the request id, trace and
    span ids, event id and type and handler; other libraries' records pass through it too;
    secrets are masked. Each HTTP request gets an access line. When the app stops, the
    logging set-up it replaced is put back. ``GET /metrics`` serves Prometheus metrics of
    the requests, the cross-module calls (an interceptor of the seam), the event handlers'
    runs (a delivery interceptor) and the outbox (sampled in the background).
    ``[observability]`` configures it (:class:`ObservabilitySettings`).

    Give one yourself (``App(..., extensions=[Observability(stream=...)])``) to choose where
    the lines go; the app then uses it instead of its own.
    """

    def __init__(self, *, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.requests = RequestObserver()
        self.metrics: Metrics | None = None
        """The app's metrics once it started with ``[observability] metrics`` on."""
        self._installed: Installed | None = None
        self._app: Any = None  # the dolmen.App (not imported: dolmen.modules uses this package)
        self._retries: Mapping[str, Retry] = {}
        self._sample_every = 10.0
        self._settings: ObservabilitySettings | None = None
        self._sampler: asyncio.Task[None] | None = None
        self.traces: TraceBuffer | None = None
        """The dashboard's traces once the app started with ``[observability] traces`` on."""
        self.unit_lag: LagSource | None = None
        """Measures the broker lag of this process's unit (``Units`` sets it in a split app)."""

    def section(self) -> ConfigSection:
        """``[observability]``."""
        return SECTION

    def interceptors(self) -> Sequence[Interceptor]:
        """The module calls' spans and metrics, outermost on the seam."""
        # Off ([observability] enabled = false), calls go straight to the service, no proxy.
        observed = Interceptor(
            "dolmen.observability",
            call=self._traced_call,
            role=OBSERVABILITY,
            active=lambda: self.requests.active,
        )
        return (observed,)

    def delivery_interceptors(
        self,
    ) -> Sequence[Callable[[DeliveryContext, Callable[[], Awaitable[None]]], Awaitable[None]]]:
        """Each handler run's consumer span, log context (event, handler, module) and metrics."""
        return (self._traced_delivery,)

    def local_modules(self, app: Any, settings: Any) -> Collection[str] | None:
        """No say in which modules run here."""
        return None

    def event_routes(self, backend: object, wake: object) -> None:
        """No handler routed elsewhere."""
        return None

    async def configure(self, app: Any, settings: Any) -> None:
        """Install the log pipeline (unless told not to) and learn the app's routes."""
        from dolmen.http import endpoint_modules, route_templates
        from dolmen.observability._redaction import Redactor
        from dolmen.observability._setup import install, log_handler

        assert isinstance(settings, ObservabilitySettings)  # the section's model
        self._uninstall()
        self.requests.handler = None
        self.requests.active = settings.enabled
        self.requests.access_log = settings.access_log
        self._app = app
        self._retries = {s.name: s.retry for s in app.subscriptions}
        self._sample_every = settings.outbox_sample_seconds
        self.requests.metrics_path = settings.metrics_path
        if settings.enabled and settings.metrics and self.metrics is None:
            from dolmen.observability._metrics import Metrics

            self.metrics = Metrics()  # kept from one start to the next: counters only grow
        self.requests.metrics = self.metrics if settings.enabled and settings.metrics else None
        if self._count_published not in app.published_observers:
            app.published_observers.append(self._count_published)
        mounted = [(m, router) for m in app.modules for router in m.routers]
        self.requests.endpoints = endpoint_modules((m.name, r) for m, r in mounted)
        self.requests.templates = route_templates((m.prefix, r) for m, r in mounted)
        self._settings = settings
        if settings.enabled and settings.configure_logging:
            config = app.config
            redactor = Redactor.of(config, settings.redact_keys)
            log_format = settings.effective_format(config.environment)
            handler = log_handler(log_format, redactor, self.stream)
            self._installed = install(handler, settings.log_level)
            self.requests.handler = handler if handler.json else None
        self.requests.dashboard = self._dashboard(app, settings)

    async def on_database(self, database: Database) -> None:
        """Nothing yet (the outbox gauges come with metrics)."""

    async def start(self) -> None:
        """Start tracing (the provider, the buffer); sample the outbox gauges in the background."""
        if self.requests.active and self._settings is not None:
            from dolmen.observability._tracing import start_tracing

            self.requests.tracing = start_tracing(self._settings, self._app.name)
            self.traces = None if self.requests.tracing is None else self.requests.tracing.buffer
        if self.requests.metrics is not None and self.requests.active:
            await self._sample_once()  # the gauges exist from the start
            self._sampler = asyncio.create_task(self._sample_forever())
        if self.requests.dashboard is not None:
            self.requests.dashboard.start()

    async def stop(self) -> None:
        """Stop sampling; put back the logging set-up the app found."""
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        if self.requests.dashboard is not None:
            await self.requests.dashboard.stop()
        self.requests.active = False
        if self.requests.tracing is not None:
            self.requests.tracing.stop()
            self.requests.tracing = None
        if self.requests.metrics is not None:
            from dolmen.observability._metrics import process_stopped

            process_stopped()
        self.requests.metrics = None
        self.requests.handler = None
        self._uninstall()

    def routers(self) -> Sequence[APIRouter]:
        """None yet (``/metrics`` comes with metrics)."""
        return ()

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """Each request's log context and access line (see :class:`ObservedRequests`)."""
        from dolmen.observability._access import ObservedRequests

        return ObservedRequests(asgi, self.requests)

    def _dashboard(self, app: Any, settings: ObservabilitySettings) -> Dashboard | None:
        if not (settings.enabled and settings.dashboard.enabled):
            return None
        from dolmen.observability._dashboard._dashboard import Dashboard

        return Dashboard(
            app, settings.dashboard, self.requests.metrics, self._traces, lag=self._lag_source
        )

    def _lag_source(self) -> LagSource | None:
        return self.unit_lag  # set by the units after this extension configured

    def _traces(self) -> TraceBuffer | None:
        return self.traces  # the traces' buffer, once started with traces on

    def _uninstall(self) -> None:
        if self._installed is not None:
            from dolmen.observability._setup import uninstall

            uninstall(self._installed)
            self._installed = None

    async def sample_outbox(self) -> None:
        """Read the delivery statistics once into the outbox gauges (the sampler's step).

        In a unit of a split app, also its broker lag (the broker asked with a bounded
        timeout: one that does not answer makes the lag unknown, not the sample late).
        """
        metrics = self.requests.metrics
        if self._app is not None and metrics is not None:
            stats = await self._app.events.stats()
            metrics.outbox(stats)
            if self.unit_lag is not None:
                lag = await self.unit_lag(stats)
                if lag is not None:
                    metrics.units_lag(lag)

    async def _sample_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sample_every)
            await self._sample_once()

    async def _sample_once(self) -> None:
        try:
            await self.sample_outbox()
        except Exception as error:  # the database may be away for a while
            logger.warning("could not sample the outbox for the metrics: %s", error)

    async def _traced_call(self, call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        tracing = self.requests.tracing  # the span, around the metrics
        if tracing is None:
            return await self._module_call(call, proceed)
        return await tracing.call(call, functools.partial(self._module_call, call, proceed))

    async def _traced_delivery(
        self, delivery: DeliveryContext, proceed: Callable[[], Awaitable[None]]
    ) -> None:
        tracing = self.requests.tracing  # the span, around the log context and metrics
        if tracing is None:
            await self._delivery_context(delivery, proceed)
        else:
            await tracing.delivery(
                delivery, functools.partial(self._delivery_context, delivery, proceed)
            )

    def _count_published(self, event_types: Sequence[str]) -> None:
        metrics = self.requests.metrics
        if metrics is not None:
            metrics.events_published(event_types)

    async def _module_call(self, call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        metrics = self.requests.metrics
        if metrics is None:
            return await proceed()
        started = time.perf_counter()
        try:
            return await proceed()
        finally:
            seconds = time.perf_counter() - started
            metrics.module_call(call.caller, call.target, call.key, call.method, seconds)

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
        metrics = self.requests.metrics
        try:
            if metrics is None:
                await proceed()
                return
            labels = (delivery.event_type, delivery.handler)
            lag, handled = metrics.delivery(*labels)
            if delivery.attempt == 1:  # the lag of retries is their backoff
                lag.observe(max(time.time() - delivery.published_at, 0.0))
            try:
                await proceed()
            except Exception as error:
                metrics.failed.labels(*labels).inc()
                retry = self._retries.get(delivery.handler)
                last = delivery.attempt >= delivery.max_attempts or (
                    retry is not None and retry.gives_up_on(error)
                )
                (metrics.dead if last else metrics.retried).labels(*labels).inc()
                raise
            handled.inc()
        finally:
            leave(token)
