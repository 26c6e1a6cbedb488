"""A reservation: stock taken for an order that is not placed yet, until it expires."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class ReservationState(StrEnum):
    """Where a reservation is in its life.

    Held, then confirmed (its order is placed) or expired (nobody confirmed it in time); a
    held or confirmed one is released when its order will not be paid. Expired and
    released reservations have given their stock back, once.
    """

    HELD = "held"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    RELEASED = "released"


@dataclass(frozen=True)
class ReservedItems:
    """``quantity`` items of ``sku`` taken out of stock at ``unit_price``."""

    sku: str
    quantity: int
    unit_price: Decimal


@dataclass
class Reservation:
    """Stock held for the caller's ``id`` (the shop uses the order's id) until ``expires_at``.

    The caller confirms it once its own work committed (the catalog sees the order placed);
    one that is still held when it expires was abandoned (the caller failed or crashed
    after reserving) and its stock goes back.
    """

    id: str
    items: list[ReservedItems]
    expires_at: float
    state: ReservationState = ReservationState.HELD

    def expired(self, now: float) -> bool:
        """Held past its expiry: nobody will confirm it."""
        return self.state is ReservationState.HELD and now >= self.expires_at
