"""The composition root: the shop is these four modules, nothing more."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dolmen import App
from shop.billing.module import module as billing
from shop.catalog.module import module as catalog
from shop.notifications.module import module as notifications
from shop.orders.module import module as orders


def create_app(config: Mapping[str, Any] | None = None) -> App:
    """Build the shop. Nothing connects or reads configuration until it starts.

    Its ``dolmen.toml`` lives next to this file; ``config`` overrides any setting
    (tests use it), e.g. ``{"billing": {"charge_limit": "10"}}``.
    """
    return App(
        "shop",
        modules=[catalog, orders, billing, notifications],
        config=config,
        config_dir=Path(__file__).parent,
    )


app = create_app()
