"""The catalog's public contract: what other modules may use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from dolmen.units import idempotent
from shop.catalog.domain.errors import DuplicateProduct, InsufficientStock, UnknownProduct
from shop.kernel import PRINTABLE

MAX_PRICE = Decimal("99999999.99")
"""The dearest product the catalog sells."""

MAX_STOCK = 1_000_000_000
"""The most items of one product the catalog keeps count of."""

MAX_QUANTITY = 10_000
"""The most items of one product that one request may take or give back."""

PRICE_PATTERN = r"^(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$"
"""A price as clients write it: a decimal string from 0.01 to 99999999.99, cents optional."""

_PRICE = re.compile(PRICE_PATTERN)


def _price_string(value: Any) -> Any:
    """A price arrives as a decimal string (JSON numbers are binary fractions, not money)."""
    if isinstance(value, Decimal):
        return value  # from Python code, e.g. the demo data; the bounds below still apply
    if not isinstance(value, str) or not _PRICE.match(value):
        raise ValueError(
            'a price is a decimal string from "0.01" to "99999999.99" with at most 2 decimal '
            'places, e.g. "35.00"'
        )
    return value


def _to_the_cent(price: Decimal) -> Decimal:
    """``35.5`` is stored and shown as ``35.50``."""
    return price.quantize(Decimal("0.01"))


Sku = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A stock-keeping unit: letters, digits, '-' and '_'.",
        examples=["LAMP-01"],
    ),
]
"""A product's SKU, as clients send it and every module checks it."""

ProductName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=rf"^{PRINTABLE}+$",
        description="The name customers see: no control characters.",
        examples=["Desk lamp"],
    ),
]
"""A product's name."""

Price = Annotated[
    Decimal,
    BeforeValidator(_price_string),
    Field(gt=0, le=MAX_PRICE, max_digits=10, decimal_places=2),
    AfterValidator(_to_the_cent),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PRICE_PATTERN,
            "description": "A decimal string: more than 0, at most 99999999.99, to the cent.",
            "examples": ["35.00"],
        },
        mode="validation",
    ),
]
"""A unit price: more than 0, at most 99,999,999.99, kept to the cent."""

Stock = Annotated[
    int, Field(ge=0, le=MAX_STOCK, description="Items in stock, from 0 to 1,000,000,000.")
]
"""A number of items in stock."""

Quantity = Annotated[
    int, Field(gt=0, le=MAX_QUANTITY, description="How many items, from 1 to 10,000.")
]
"""A number of items asked for (at least one)."""


class NewProduct(BaseModel):
    """A product to add to the catalog."""

    sku: Sku
    name: ProductName
    price: Price
    stock: Stock


class ProductView(BaseModel):
    """A product as other modules and clients see it."""

    sku: str
    name: str
    price: Decimal
    stock: int


class StockRequest(BaseModel):
    """``quantity`` items of the product ``sku``."""

    sku: Sku
    quantity: Quantity


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

    @idempotent  # a read: a call from another unit may retry it after a timeout
    async def get_product(self, sku: str) -> ProductView:
        """The product with this SKU; raises UnknownProduct."""
        ...

    async def reserve(
        self, requests: Sequence[StockRequest], reservation_id: str
    ) -> list[ReservedLine]:
        """Take every requested item out of stock, all or nothing, as one reservation.

        ``reservation_id`` names it (orders uses the order's id): the catalog confirms the
        reservation when it sees that order placed (``orders.OrderPlaced``), and gives the
        stock back if it is still unconfirmed after ``[catalog] reservation_seconds`` (the
        order failed, or its process died, after reserving). The same id again answers
        what it reserved the first time. Raises UnknownProduct or InsufficientStock;
        nothing is reserved then.
        """
        ...

    async def release(self, reservation_id: str) -> None:
        """Put a reservation's items back in stock (an order that will not be paid).

        Only once: releasing it again, or after it expired, changes nothing.
        """
        ...


__all__ = [
    "MAX_PRICE",
    "MAX_QUANTITY",
    "MAX_STOCK",
    "CatalogService",
    "DuplicateProduct",
    "InsufficientStock",
    "NewProduct",
    "Price",
    "ProductName",
    "ProductView",
    "Quantity",
    "ReservedLine",
    "Sku",
    "Stock",
    "StockRequest",
    "UnknownProduct",
]
