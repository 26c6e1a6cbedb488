"""Reservations stored with SQLAlchemy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shop.catalog.adapters.tables import reservations
from shop.catalog.domain.reservation import Reservation, ReservationState, ReservedItems

BATCH = 100
"""The most expired reservations one sweep gives back (the next sweep takes the rest)."""


class SqlReservationRepository:
    """Implements :class:`~shop.catalog.domain.ports.ReservationRepository` on the session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, reservation_id: str) -> Reservation | None:
        """The reservation with this id, or None."""
        query = select(reservations).where(reservations.c.id == reservation_id)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        items = [
            ReservedItems(i["sku"], i["quantity"], Decimal(i["unit_price"])) for i in row.items
        ]
        return Reservation(row.id, items, row.expires_at, ReservationState(row.state))

    async def add(self, reservation: Reservation) -> None:
        """Store a new reservation."""
        items: list[dict[str, Any]] = [
            {"sku": i.sku, "quantity": i.quantity, "unit_price": str(i.unit_price)}
            for i in reservation.items
        ]
        await self.session.execute(
            insert(reservations).values(
                id=reservation.id,
                items=items,
                expires_at=reservation.expires_at,
                state=reservation.state.value,
            )
        )

    async def expired(self, now: float) -> list[str]:
        """The ids of reservations still held past their expiry, oldest first."""
        query = (
            select(reservations.c.id)
            .where(reservations.c.state == ReservationState.HELD.value)
            .where(reservations.c.expires_at <= now)
            .order_by(reservations.c.expires_at)
            .limit(BATCH)
        )
        return list((await self.session.scalars(query)).all())

    async def move(self, reservation_id: str, old: ReservationState, new: ReservationState) -> bool:
        """Change the state if it is still ``old`` (one UPDATE: the database decides)."""
        result = await self.session.execute(
            update(reservations)
            .where(reservations.c.id == reservation_id, reservations.c.state == old.value)
            .values(state=new.value)
        )
        return bool(getattr(result, "rowcount", 0) == 1)
