"""The bare FastAPI server of bench/observability.py: both scenarios, no observability.

(b) ``GET /catalog/products/{sku}`` is bench/_bare_app.py's; (a) ``GET /quotes/{sku}`` gets
the same pricing service as Dolmen's module route, from an async ``Depends`` (one instance per
request, as Dolmen's unit-of-work lifetime gives).

    uvicorn observability_peers.bare:app --app-dir bench
"""

from __future__ import annotations

from typing import Annotated

from _bare_app import app
from fastapi import Depends

PRICE = "9.99"


class FixedPricing:
    async def price(self, sku: str) -> dict[str, str]:
        return {"sku": sku, "price": PRICE}


async def get_pricing() -> FixedPricing:
    return FixedPricing()


@app.get("/quotes/{sku}")
async def quote(sku: str, pricing: Annotated[FixedPricing, Depends(get_pricing)]) -> dict[str, str]:
    return await pricing.price(sku)


__all__ = ["app"]
