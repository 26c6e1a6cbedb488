"""Demo data: a few products, one of them priced above billing's default charge limit."""

from __future__ import annotations

from decimal import Decimal

from dolmen import App
from shop.catalog.api import CatalogService, DuplicateProduct, NewProduct

DEMO_PRODUCTS = [
    NewProduct(sku="KEYBOARD", name="Mechanical keyboard", price=Decimal("89.00"), stock=100),
    NewProduct(sku="MOUSE", name="Wireless mouse", price=Decimal("25.50"), stock=250),
    NewProduct(sku="MONITOR", name="32-inch monitor", price=Decimal("1499.00"), stock=20),
]


async def seed_products(app: App) -> list[str]:
    """Add the demo products the catalog does not have yet; return the SKUs added."""
    added = []
    for product in DEMO_PRODUCTS:
        try:
            async with app.unit_of_work("catalog") as work:
                catalog: CatalogService = await work.get(CatalogService)
                await catalog.add_product(product)
        except DuplicateProduct:
            continue
        added.append(product.sku)
    return added
