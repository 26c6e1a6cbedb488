"""Scenario (a) of bench/observability.py in Dolmen: a route that makes one cross-module call.

Module ``quotes`` serves ``GET /quotes/{sku}``; its route asks for module ``pricing``'s public
``Pricing`` service (``Inject``) and awaits one method of it, through the cross-module seam. No
database is touched. ``DOLMEN_DATABASE_URL`` names the (unused) database the app opens.

    uvicorn observability_peers.quotes:app --app-dir bench
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol

from fastapi import APIRouter

from dolmen import App, Extension, Inject, Module, provide

PRICE = "9.99"


class Pricing(Protocol):
    """Module pricing's public contract."""

    async def price(self, sku: str) -> dict[str, str]: ...


class FixedPricing:
    """Pricing's implementation: no I/O, so the figures are the framework's."""

    async def price(self, sku: str) -> dict[str, str]:
        return {"sku": sku, "price": PRICE}


router = APIRouter()


@router.get("/{sku}")
async def quote(sku: str, pricing: Annotated[Pricing, Inject(Pricing)]) -> dict[str, str]:
    return await pricing.price(sku)


def create_app(
    config: Mapping[str, Any] | None = None, extensions: Sequence[Extension] = ()
) -> App:
    pricing = Module("pricing", providers=[provide(Pricing, FixedPricing, public=True)])
    quotes = Module("quotes", depends_on=["pricing"], routers=[router])
    return App("quotes", [pricing, quotes], config=config, extensions=extensions)


app = create_app()
