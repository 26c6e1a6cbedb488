"""``Extension``: what a plug-in implements to take part in an app's start sequence.

``App`` knows nothing of tracing, metrics, brokers or remote calls; it calls its
extensions at fixed points, in a fixed order (docs/extensions.md has the whole sequence):

composition (``App(...)``)  ``section()``, ``interceptors()``, ``delivery_interceptors()``
configuration loaded        ``local_modules(app, settings)``: which modules this process runs
``app.start()``             ``configure(app, settings)``, ``on_database(database)``,
                            ``event_routes(backend, wake)`` (as the event runtime is
                            built), then (after the modules' start-up hooks and the
                            event dispatcher) ``start()``
the ASGI app, built once    ``routers()``, ``wrap_asgi(asgi)``
``app.stop()``              ``stop()``, last extension first, before anything else stops
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dolmen.config import ConfigSection
from dolmen.di import Interceptor
from dolmen.events import (
    Claimed,
    DeliveryContext,
    Envelope,
    EventBackend,
    NewDelivery,
    Outcome,
    Retry,
)

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from dolmen.modules._app import App
    from dolmen.modules._module import Subscription
    from dolmen.persistence import Database

DeliveryInterceptor = Callable[[DeliveryContext, Callable[[], Awaitable[None]]], Awaitable[None]]
"""An ``async def interceptor(delivery, proceed)`` around each handler run; awaits ``proceed()``."""


class EventRoutes(Protocol):
    """Where an extension sends some handlers' deliveries instead (``Extension.event_routes``).

    When an event is published, each of its handlers that :meth:`takes` accepts gets no
    delivery of its own in this outbox: :meth:`deliveries` replaces them all with
    deliveries for the route's own :attr:`handlers`, written in the same transaction. The
    app's dispatcher runs those like any delivery (retries, backoff, dead letters, order
    per subject), calling :meth:`run` or :meth:`run_batch`. Deployment units route the
    handlers of other units this way: one forwarding delivery per unit, sent to a broker.
    """

    @property
    def handlers(self) -> Mapping[str, Retry]:
        """The route's own handlers, by name, with their retry policy (ordered, batchable)."""
        ...

    def takes(self, subscription: Subscription) -> bool:
        """Whether this handler's deliveries go through the route instead of this outbox."""
        ...

    def deliveries(
        self, envelope: Envelope, taken: Sequence[Subscription]
    ) -> Sequence[NewDelivery]:
        """The deliveries that stand for ``taken`` (the handlers it took) for ``envelope``."""
        ...

    async def run(self, claimed: Claimed) -> bool:
        """Run one of its deliveries; True if it recorded the completion itself, as handlers."""
        ...

    async def run_batch(self, batch: Sequence[Claimed]) -> Sequence[Outcome]:
        """Run deliveries of one of its handlers together: an outcome per delivery that ran."""
        ...


class Extension(Protocol):
    """A plug-in of :class:`~dolmen.App`: ``App("shop", modules, extensions=[Metrics()])``.

    Subclass it and override only what the extension needs: every method has a default
    that does nothing. (It is a ``Protocol``, so a class with all these methods is an
    extension without subclassing it; Dolmen's own health probes are written that way.)
    Extensions are called in the order given to the ``App``, the first one outermost:
    its ``wrap_asgi`` sees each request first, its interceptors run first, its ``stop``
    runs last. An ``App`` instance is one application: give each its own extension objects.
    """

    def section(self) -> ConfigSection | None:
        """Its configuration section (``[metrics]``), validated with the app's; None: none."""
        return None

    def interceptors(self) -> Sequence[Interceptor]:
        """Interceptors of the cross-module seam (``dolmen.di``), read once by ``App(...)``.

        Their place in the chain follows their role: placement innermost, observability
        outermost; within a role, the first declared is the outermost, the ``App``'s own
        first, then the extensions' in the order the extensions are given.
        """
        return ()

    def delivery_interceptors(self) -> Sequence[DeliveryInterceptor]:
        """Interceptors around each event handler run, read once by ``App(...)``."""
        return ()

    def local_modules(self, app: App, settings: Any) -> Collection[str] | None:
        """The names of the modules this process runs; None (the default): no say, every one.

        Asked whenever the app's configuration is loaded (``settings`` is this section's,
        or None): before the ASGI app is built and at each start, before ``configure``. The
        app runs the modules every extension lets it run: only their routes, tables, hooks
        and event handlers. Their services stay reachable from the others through the
        seam, where a placement interceptor decides where they run. Keep it free of
        side effects: it may be asked more than once.
        """
        return None

    async def configure(self, app: App, settings: Any) -> None:
        """The configuration is loaded and valid: ``settings`` is this section's, or None.

        Runs first in :meth:`App.start`, before the database opens: set up here what must
        be in place before any module code runs (a tracer provider, a log handler).
        """
        return None  # a body: not abstract, so a subclass may leave it out

    async def on_database(self, database: Database) -> None:
        """The database is open and the modules' tables exist; no module code has run."""
        return None  # a body: not abstract, so a subclass may leave it out

    def event_routes(self, backend: EventBackend, wake: Callable[[], None]) -> EventRoutes | None:
        """Handlers whose deliveries it routes elsewhere (:class:`EventRoutes`); None: none.

        Asked at each start, once the event runtime is built (after ``on_database``):
        ``backend`` holds the ports the app's events run on, ``wake`` tells its dispatcher
        that new deliveries committed (after writing some outside a publisher's unit of
        work, say). A handler taken by several extensions goes to the first one's route.
        """
        return None

    async def start(self) -> None:
        """The app is up (modules started, events dispatched): start background work."""
        return None  # a body: not abstract, so a subclass may leave it out

    async def stop(self) -> None:
        """The app is stopping: end background work. Runs before the modules stop.

        Also called when a later step of :meth:`App.start` failed after this
        extension's ``start``; an error here is logged and the others still stop.
        """
        return None  # a body: not abstract, so a subclass may leave it out

    def routers(self) -> Sequence[APIRouter]:
        """Routes of its own (``/metrics``), mounted at the root beside the modules'."""
        return ()

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """Wrap the app's ASGI application (the first extension's wrapper is outermost)."""
        return asgi


HOOKS = (
    "section",
    "interceptors",
    "delivery_interceptors",
    "local_modules",
    "configure",
    "on_database",
    "event_routes",
    "start",
    "stop",
    "routers",
    "wrap_asgi",
)
"""The methods of :class:`Extension`, in the order the app first calls them."""


def missing_hooks(extension: object) -> list[str]:
    """The methods of the protocol that ``extension`` lacks."""
    return [name for name in HOOKS if not callable(getattr(extension, name, None))]
