"""What the catalog's domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shop.catalog.domain.product import Product


class ProductRepository(Protocol):
    """Stores products."""

    async def get(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        ...

    async def get_for_update(self, skus: Sequence[str]) -> dict[str, Product]:
        """The products with these SKUs, locked until the unit of work ends."""
        ...

    async def add(self, product: Product) -> None:
        """Store a new product; raises DuplicateProduct if its SKU is taken."""
        ...

    async def save_stock(self, product: Product) -> None:
        """Store the product's new stock level."""
        ...
