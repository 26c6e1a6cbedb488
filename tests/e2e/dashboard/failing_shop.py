"""The shop plus a ``shipping`` module whose handler fails while a flag file exists.

An order of a customer whose address starts with ``undeliverable-`` fails to ship while the
file ``carrier-down`` exists in the server's folder; its one try spent, the delivery is a real
dead letter. Once the file is gone, replaying it ships the order. The failed
handler runs leave failed traces for the dashboard to draw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from shop.app import create_app
from shop.orders.api import OrderPlaced

from dolmen import App, Module, on
from dolmen.events import Retry

CARRIER_DOWN = Path("carrier-down")
"""Relative to the server's working folder: the test creates and removes it."""
UNDELIVERABLE = "undeliverable-"


async def ship_order(event: OrderPlaced) -> None:
    """Hand the order to the carrier, which is down for some customers while the flag exists."""
    if event.customer_email.startswith(UNDELIVERABLE) and await asyncio.to_thread(
        CARRIER_DOWN.exists
    ):
        raise RuntimeError("the carrier is down; remove carrier-down, then replay")


shipping = Module(
    "shipping",
    listens_to=["orders"],
    handlers=[on(OrderPlaced, ship_order, retry=Retry(attempts=1))],
)


_shop = create_app()
app = App(
    "shop",
    modules=[*_shop.modules, shipping],
    config_dir=_shop.config_dir,
    # The shop's dolmen.toml puts every module in a unit: shipping runs in the storefront's.
    config={"units": {"unit": {"storefront": {"modules": ["catalog", "orders", "shipping"]}}}},
)
