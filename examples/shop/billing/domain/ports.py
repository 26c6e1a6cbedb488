"""What the billing domain needs from the outside world."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from shop.billing.domain.payment import ChargeResult, Payment


class PaymentGateway(Protocol):
    """Charges customers (a payment provider in production, a fake here)."""

    async def charge(self, reference: str, amount: Decimal) -> ChargeResult:
        """Charge ``amount``; ``reference`` identifies the charge (an idempotency key)."""
        ...


class PaymentRepository(Protocol):
    """Stores payments."""

    async def for_order(self, order_id: str) -> Payment | None:
        """The payment of this order, or None."""
        ...

    async def add(self, payment: Payment) -> None:
        """Store a payment."""
        ...
