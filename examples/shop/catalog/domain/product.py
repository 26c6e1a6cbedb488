"""A product for sale, and how its stock is reserved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shop.catalog.domain.errors import InsufficientStock


@dataclass
class Product:
    """A product: its SKU, name, unit price and the number of items in stock."""

    sku: str
    name: str
    price: Decimal
    stock: int

    def reserve(self, quantity: int) -> None:
        """Take ``quantity`` items out of stock, or refuse if there are not enough."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        if quantity > self.stock:
            raise InsufficientStock(self.sku, quantity, self.stock)
        self.stock -= quantity

    def release(self, quantity: int) -> None:
        """Put ``quantity`` reserved items back in stock."""
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.stock += quantity
