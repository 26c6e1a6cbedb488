"""``Extension``: what a plug-in implements to take part in an app's start sequence.

``App`` knows nothing of tracing, metrics, brokers or remote calls; it calls its
extensions at fixed points, in a fixed order (docs/extensions.md has the whole sequence):

composition (``App(...)``)  ``section()``, ``interceptors()``, ``delivery_interceptors()``
configuration loaded        ``local_modules(app, settings)``: which modules this process runs
``app.start()``             ``configure(app, settings)``, ``on_database(database)``, then
                            (after the modules' start-up hooks and the event dispatcher)
                            ``start()``
the ASGI app, built once    ``routers()``, ``wrap_asgi(asgi)``
``app.stop()``              ``stop()``, last extension first, before anything else stops
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dolmen.config import ConfigSection
from dolmen.di import Interceptor
from dolmen.events import DeliveryContext

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.types import ASGIApp

    from dolmen.modules._app import App
    from dolmen.persistence import Database

DeliveryInterceptor = Callable[[DeliveryContext, Callable[[], Awaitable[None]]], Awaitable[None]]
"""An ``async def interceptor(delivery, proceed)`` around each handler run; awaits ``proceed()``."""


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
    "start",
    "stop",
    "routers",
    "wrap_asgi",
)
"""The methods of :class:`Extension`, in the order the app first calls them."""


def missing_hooks(extension: object) -> list[str]:
    """The methods of the protocol that ``extension`` lacks."""
    return [name for name in HOOKS if not callable(getattr(extension, name, None))]
