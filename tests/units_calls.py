"""The shop split in two units for the tests of remote calls: catalog, and the rest.

Until the ``Units`` extension wires :class:`~dolmen.units.RemoteCalls` into apps, a small
extension here does what it will: the placement interceptor, the internal router, and the
pooled client's start and stop, for a topology given in code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter
from shop.billing.module import module as billing
from shop.catalog.module import module as catalog
from shop.notifications.module import module as notifications
from shop.orders.module import module as orders

from dolmen import App
from dolmen.di import CrossModuleResolution, Interceptor, InterceptorRole
from dolmen.units import RemoteCalls, Topology, UnitsSettings

SHOP = Path(__file__).resolve().parents[1] / "examples" / "shop"
SECRET = "a-test-secret-of-at-least-32-characters"
MODULES = [catalog, orders, billing, notifications]


def units_settings(
    catalog_url: str = "http://catalog.test", current: str | None = None, **more: Any
) -> UnitsSettings:
    """Two units: ``catalog`` (at ``catalog_url``) and ``orders`` (the three other modules)."""
    return UnitsSettings.model_validate(
        {
            "current": current,
            "secret": SECRET,
            "unit": {
                "catalog": {"modules": ["catalog"], "url": catalog_url},
                "orders": {"modules": ["orders", "billing", "notifications"]},
            },
            **more,
        }
    )


class CallsForTests:
    """A stand-in for the Units extension: wires one RemoteCalls into one App."""

    def __init__(
        self,
        settings: UnitsSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.topology = Topology.of(settings, MODULES)
        self.transport = transport
        self.sleep = sleep
        self.remote: RemoteCalls | None = None

    def attach(self, app: App) -> RemoteCalls:
        """Make the app's RemoteCalls (the app is built: its interceptor exists already)."""
        self.remote = RemoteCalls(
            self.topology, self.settings, app, transport=self.transport, sleep=self.sleep
        )
        return self.remote

    def _calls(self) -> RemoteCalls:
        if self.remote is None:
            raise RuntimeError("attach the app first")
        return self.remote

    def section(self) -> None:
        return None

    def interceptors(self) -> Sequence[Interceptor]:
        async def place(resolution: CrossModuleResolution, build: Callable[[], Any]) -> Any:
            resolve = self._calls().interceptor().resolve
            assert resolve is not None
            return await resolve(resolution, build)

        return [Interceptor("tests.units", resolve=place, role=InterceptorRole.PLACEMENT)]

    def delivery_interceptors(self) -> Sequence[Any]:
        return ()

    async def configure(self, app: Any, settings: Any) -> None:
        return None

    async def on_database(self, database: Any) -> None:
        return None

    async def start(self) -> None:
        await self._calls().start()

    async def stop(self) -> None:
        await self._calls().stop()

    def routers(self) -> Sequence[APIRouter]:
        router = self._calls().router()
        return [] if router is None else [router]

    def wrap_asgi(self, asgi: Any) -> Any:
        return asgi


def unit_app(
    unit: str,
    database_url: str,
    *,
    catalog_url: str = "http://catalog.test",
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    config: Mapping[str, Any] | None = None,
    units: Mapping[str, Any] | None = None,
) -> tuple[App, RemoteCalls]:
    """The shop as unit ``unit`` (``catalog`` or ``orders``) on ``database_url``."""
    calls = CallsForTests(
        units_settings(catalog_url, unit, **(units or {})), transport=transport, sleep=sleep
    )
    app = App(
        f"shop-{unit}",
        modules=MODULES,
        config={
            "app": {"database_url": database_url},
            "observability": {"configure_logging": False},
            **(config or {}),
        },
        config_dir=SHOP,
        extensions=[calls],
    )
    return app, calls.attach(app)
