"""The composition root: the shop is these four modules, nothing more."""

from __future__ import annotations

from dolmen import App
from dolmen.config import AppSettings
from shop.billing.module import module as billing
from shop.catalog.module import module as catalog
from shop.notifications.module import module as notifications
from shop.orders.module import module as orders


def create_app(settings: AppSettings | None = None) -> App:
    """Build the shop. Nothing connects until the app starts (its ASGI lifespan)."""
    return App("shop", modules=[catalog, orders, billing, notifications], settings=settings)


app = create_app()
