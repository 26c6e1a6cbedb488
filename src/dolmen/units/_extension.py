"""``Units``: the extension that runs one deployment unit of an app in this process.

Every ``App`` has one. It owns the ``[units]`` section; each time the configuration is
loaded it builds the :class:`Topology` from the app's modules and tells the app which of
them run here (all of them unless a unit is chosen). Resolutions of another module's
services pass through its placement interceptor, which hands them to
:class:`RemoteCalls` when the module runs in another unit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dolmen.config import ConfigSection
from dolmen.di import CrossModuleHook, CrossModuleResolution, Interceptor, InterceptorRole
from dolmen.units._broker import BrokerEvents, RoutedHandler
from dolmen.units._lag import LagProbe, UnitLag
from dolmen.units._remote import RemoteCalls
from dolmen.units._settings import UnitsSettings
from dolmen.units._topology import PlacedModule, Topology
from dolmen.units._transports._factory import transport_for
from dolmen.units._transports._port import Transport

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from dolmen.events import EventBackend, HandlerStats
    from dolmen.persistence import Database

SECTION = ConfigSection(
    "units", UnitsSettings, "the deployment units: which process runs which modules"
)
PLACEMENT = "dolmen.units"
"""The name of the units' placement interceptor on the seam."""


class UnitsApp(Protocol):
    """The app as the units see it (``dolmen.App`` is one)."""

    @property
    def modules(self) -> Sequence[PlacedModule]: ...

    @property
    def subscriptions(self) -> Sequence[RoutedHandler]: ...


class Remote(Protocol):
    """What the units need of :class:`RemoteCalls` (a test may give its own)."""

    def interceptor(self) -> Interceptor: ...

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp: ...

    def readiness_checks(self) -> Mapping[str, Callable[[], Awaitable[None]]]: ...

    def observe(self, observer: Callable[[str, str, str, str, float], None] | None) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


RemoteFactory = Callable[[Topology, UnitsSettings, Any], Remote]
"""Makes the remote calls of a topology: ``RemoteCalls(topology, settings, app)``."""

TransportFactory = Callable[[UnitsSettings], Transport | None]
"""Makes the broker transport of ``[units]`` (None: ``database``, no broker)."""


class Units:
    """Deployment units: which of the app's modules this process runs, and where the rest are.

    ``[units]`` declares the units (:class:`UnitsSettings`); ``[units] current`` (set by
    ``dolmen run --unit NAME``) picks the one this process runs: only its modules' routes,
    tables, hooks and event handlers are here. With no unit chosen, every module runs in
    this process, as if there were no units. When the chosen unit calls modules of another
    unit, or is called by one, :class:`RemoteCalls` serves the calls over HTTP. With a
    broker (``[units] transport``) and a unit chosen, events cross units through it
    (:class:`BrokerEvents`): forwarded from this unit's outbox, taken into the other's.

    Every ``App`` has one; give your own (``App(..., extensions=[Units(remote=...)])``)
    to replace it, for instance with other remote calls or an in-memory transport
    (``Units(transport=lambda settings: InMemoryTransport(broker))``) in a test.
    """

    def __init__(
        self, *, remote: RemoteFactory = RemoteCalls, transport: TransportFactory = transport_for
    ) -> None:
        self._remote_factory = remote
        self._transport_factory = transport
        self.broker: BrokerEvents | None = None
        """This unit's events across units through a broker, while the app runs with one."""
        self.topology: Topology | None = None
        """The app's topology, once its configuration was loaded."""
        self.remote: Remote | None = None
        """The remote calls of this process's unit, when it calls or is called by another."""
        self.lag_probe: LagProbe | None = None
        """Measures this unit's broker lag, while a unit of a split app runs here."""
        self._placed: tuple[Topology, UnitsSettings] | None = None
        self._serving = True
        self._resolve: CrossModuleHook | None = None

    def section(self) -> ConfigSection:
        """``[units]``."""
        return SECTION

    def interceptors(self) -> Sequence[Interceptor]:
        """The placement interceptor: innermost on the seam, it decides where a service runs."""
        return (Interceptor(PLACEMENT, resolve=self._place, role=InterceptorRole.PLACEMENT),)

    def delivery_interceptors(self) -> Sequence[Any]:
        """None."""
        return ()

    def local_modules(self, app: UnitsApp, settings: Any) -> Collection[str] | None:
        """The modules of the chosen unit; None (every module) when no unit is chosen.

        Raises :class:`TopologyError` when ``[units]`` does not fit the app's modules.
        """
        assert isinstance(settings, UnitsSettings)  # the section's model
        topology = Topology.of(settings, app.modules)
        if self._placed != (topology, settings):
            self._placed = (topology, settings)
            self.topology = topology
            crosses = _crosses(topology)
            self.remote = self._remote_factory(topology, settings, app) if crosses else None
            self._resolve = self.remote.interceptor().resolve if self.remote else None
        return None if topology.current is None else topology.local_modules

    async def configure(self, app: UnitsApp, settings: Any) -> None:
        """Prepare the events across units, with a broker and a unit chosen (not connected).

        And add readiness checks to the app's ``/readyz``: each unit this one calls, and
        the broker (``broker``); count the calls in the app's metrics
        (``dolmen_remote_calls_total``).
        """
        assert isinstance(settings, UnitsSettings)  # the section's model
        # A start that only checks the app (dolmen run's, before serving) routes events as a
        # serving one does, but neither connects to the broker nor measures its lag.
        self._serving = bool(getattr(app, "serving", True))
        leftover, self.broker = self.broker, None
        if leftover is not None:  # a start that failed after on_database: never stopped
            await leftover.stop()
        topology = self.topology
        if topology is not None and topology.current is not None and topology.split:
            transport = self._transport_factory(settings)
            if transport is not None:
                self.broker = BrokerEvents(
                    transport, topology, app.subscriptions, settings.broker_namespace
                )
        self.lag_probe = _probe(topology, settings, app, self.broker) if self._serving else None
        if self.remote is None and self.broker is None and self.lag_probe is None:
            for extension in getattr(app, "extensions", ()):
                if hasattr(extension, "unit_lag"):  # from an earlier start, split then
                    extension.unit_lag = None
            return
        from dolmen.http import HealthProbes
        from dolmen.observability import Observability

        if self.remote is not None:
            self.remote.observe(None)
        for extension in getattr(app, "extensions", ()):
            if isinstance(extension, HealthProbes):
                checks = dict(self.remote.readiness_checks()) if self.remote is not None else {}
                if self.broker is not None:
                    checks["broker"] = self.broker.ping
                for name, check in checks.items():
                    extension.add_check(name, check)
            if isinstance(extension, Observability):
                extension.unit_lag = self.lag if self.lag_probe is not None else None
            metrics = extension.requests.metrics if isinstance(extension, Observability) else None
            if metrics is not None and self.remote is not None:  # [observability] metrics on
                self.remote.observe(metrics.remote_call)

    async def lag(self, stats: Sequence[HandlerStats]) -> UnitLag | None:
        """The broker lag of this unit (``stats``: the outbox's); None when the app is not split.

        What waits in its outbox to be forwarded to each unit, and what waits on the
        broker for this unit and for each unit it sends to (unknown when the broker does
        not answer within two seconds). The metrics and the dashboard show it.
        """
        probe = self.lag_probe
        return None if probe is None else await probe.measure(stats)

    async def on_database(self, database: Database) -> None:
        """Connect to the broker, before the dispatcher forwards events through it.

        (With the database transport the units share the app's outbox: nothing to do. A start
        that does not serve, ``App.serving`` False, does not connect: the serving one will.)
        """
        if self.broker is not None and self._serving:
            await self.broker.open()

    def event_routes(self, backend: EventBackend, wake: Callable[[], None]) -> Any:
        """With a broker: other units' handlers get one forwarding delivery per unit."""
        if self.broker is None:
            return None
        self.broker.take_in(backend.outbox, wake)
        return self.broker

    async def start(self) -> None:
        """Take events in from the broker (when serving); open the remote calls' client, if any."""
        if self.broker is not None and self._serving:
            await self.broker.start()
        if self.remote is not None:
            await self.remote.start()

    async def stop(self) -> None:
        """Stop both."""
        try:
            if self.remote is not None:
                await self.remote.stop()
        finally:
            broker, self.broker = self.broker, None
            if self.lag_probe is not None:
                await self.lag_probe.close()
            if broker is not None:
                await broker.stop()

    def routers(self) -> Sequence[APIRouter]:
        """None: the internal endpoint is a plain ASGI app (see :meth:`wrap_asgi`)."""
        return ()

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """``asgi``, with the internal endpoint other units call in front when they call this one.

        A plain ASGI app: no FastAPI routing, and out of the OpenAPI document.
        """
        return asgi if self.remote is None else self.remote.wrap_asgi(asgi)

    async def _place(
        self, resolution: CrossModuleResolution, build: Callable[[], Awaitable[Any]]
    ) -> Any:
        """Build the service here, unless remote calls place its module elsewhere."""
        resolve = self._resolve
        if resolve is None:
            return await build()
        return await resolve(resolution, build)


def _probe(
    topology: Topology | None, settings: UnitsSettings, app: UnitsApp, broker: BrokerEvents | None
) -> LagProbe | None:
    """The lag probe of the chosen unit of a split app: over its broker, or the shared outbox."""
    if topology is None or topology.current is None or not topology.split:
        return None
    unit = topology.current
    if broker is not None:
        forwards = sorted({other for units in broker.forwarded.values() for other in units})
        receives = [unit] if broker.local_handlers else []
        return LagProbe(
            unit, settings.transport, [*receives, *forwards], forwards_to=forwards,
            broker=broker.transport,
        )  # fmt: skip
    handlers: dict[str, list[str]] = {u.name: [] for u in topology.units}
    for subscription in app.subscriptions:
        handlers[topology.unit_of(subscription.module).name].append(subscription.name)
    local = set(topology.local_modules)
    sends_to = {
        topology.unit_of(s.module).name
        for s in app.subscriptions
        if s.module not in local and _event_module(s) in local
    }
    return LagProbe(unit, settings.transport, {unit, *sends_to}, handlers=handlers)


def _event_module(subscription: RoutedHandler) -> str | None:
    owner = getattr(subscription.event_type, "owner_module", None)
    return owner() if callable(owner) else None


def _crosses(topology: Topology) -> bool:
    """Whether the chosen unit calls, or is called by, another unit."""
    current = topology.current
    return current is not None and any(
        current in (call.caller_unit, call.target_unit) for call in topology.calls
    )
