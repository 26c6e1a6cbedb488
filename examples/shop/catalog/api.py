"""The catalog's public contract: what other modules may use."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Protocol

from pydantic import BaseModel, Field

from shop.catalog.domain.errors import DuplicateProduct, InsufficientStock, UnknownProduct

Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Price = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]


class NewProduct(BaseModel):
    """A product to add to the catalog."""

    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    price: Price
    stock: Annotated[int, Field(ge=0)]


class ProductView(BaseModel):
    """A product as other modules and clients see it."""

    sku: str
    name: str
    price: Decimal
    stock: int


class StockRequest(BaseModel):
    """``quantity`` items of the product ``sku``."""

    sku: str
    quantity: Annotated[int, Field(gt=0)]


class ReservedLine(BaseModel):
    """Items taken out of stock, at the unit price they were reserved at."""

    sku: str
    quantity: int
    unit_price: Decimal


class CatalogService(Protocol):
    """Products and stock, for the other modules."""

    async def add_product(self, product: NewProduct) -> ProductView:
        """Add a product; raises DuplicateProduct if the SKU exists."""
        ...

    async def get_product(self, sku: str) -> ProductView:
        """The product with this SKU; raises UnknownProduct."""
        ...

    async def reserve(self, requests: Sequence[StockRequest]) -> list[ReservedLine]:
        """Take every requested item out of stock, all or nothing.

        Raises UnknownProduct or InsufficientStock; nothing is reserved then.
        """
        ...

    async def release(self, requests: Sequence[StockRequest]) -> None:
        """Put items reserved earlier back in stock (an order that will not be paid)."""
        ...


__all__ = [
    "CatalogService",
    "DuplicateProduct",
    "InsufficientStock",
    "NewProduct",
    "ProductView",
    "ReservedLine",
    "StockRequest",
    "UnknownProduct",
]
