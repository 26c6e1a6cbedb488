"""The shop split in two units for the tests of remote calls: catalog, and the rest.

Each unit is the shop's ``App`` with its own ``Units`` extension, whose ``RemoteCalls`` may
talk through a test transport (``httpx.ASGITransport`` of the other unit) and wait with a
test ``sleep``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from shop.billing.module import module as billing
from shop.catalog.module import module as catalog
from shop.notifications.module import module as notifications
from shop.orders.module import module as orders

from dolmen import App
from dolmen.units import RemoteCalls, Topology, Units, UnitsSettings

HERE = Path(__file__).resolve().parent
SHOP_SETTINGS: Mapping[str, Mapping[str, Any]] = {
    "billing": {"charge_limit": "1000.00", "gateway_latency_ms": 0},
    "notifications": {"sender_name": "Dolmen Shop"},
}
"""The shop's dolmen.toml but its [units]."""
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


def _secret(settings: UnitsSettings) -> str | None:
    return None if settings.secret is None else settings.secret.get_secret_value()


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
    made: list[RemoteCalls] = []

    def remote(topology: Topology, settings: UnitsSettings, app: Any) -> RemoteCalls:
        made.append(RemoteCalls(topology, settings, app, transport=transport, sleep=sleep))
        return made[-1]

    settings = units_settings(catalog_url, unit, **(units or {}))
    app = App(
        f"shop-{unit}",
        modules=MODULES,
        config={
            "app": {"database_url": database_url},
            "observability": {"configure_logging": False},
            "units": settings.model_dump(mode="json") | {"secret": _secret(settings)},
            **SHOP_SETTINGS,
            **(config or {}),
        },
        config_dir=HERE,  # not the shop's folder: its dolmen.toml splits the shop otherwise
        extensions=[Units(remote=remote)],
    )
    assert app.local_modules  # the configuration is read, the topology placed: RemoteCalls made
    return app, made[-1]
