"""What the catalog's domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shop.catalog.domain.product import Product
from shop.catalog.domain.reservation import Reservation, ReservationState


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


class ReservationRepository(Protocol):
    """Stores reservations; every change of state is checked against the state it leaves."""

    async def get(self, reservation_id: str) -> Reservation | None:
        """The reservation with this id, or None."""
        ...

    async def add(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        ...

    async def expired(self, now: float) -> list[str]:
        """The ids of reservations still held at ``now`` past their expiry (a batch)."""
        ...

    async def move(self, reservation_id: str, old: ReservationState, new: ReservationState) -> bool:
        """Change the state from ``old`` to ``new``; False if it was not ``old`` any more.

        Two processes giving the same reservation back at once: only one moves it.
        """
        ...
