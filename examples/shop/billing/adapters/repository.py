"""Payments stored with SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shop.billing.adapters.tables import payments
from shop.billing.domain.payment import Payment, PaymentStatus


class SqlPaymentRepository:
    """Implements :class:`~shop.billing.domain.ports.PaymentRepository` on the module's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_order(self, order_id: str) -> Payment | None:
        """The payment of this order, or None."""
        query = select(payments).where(payments.c.order_id == order_id)
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return Payment(
            row.id,
            row.order_id,
            row.amount,
            PaymentStatus(row.status),
            row.reason,
        )

    async def add(self, payment: Payment) -> None:
        """Store a payment (the unique order_id refuses a second one)."""
        await self.session.execute(
            insert(payments).values(
                id=payment.id,
                order_id=payment.order_id,
                amount=payment.amount,
                status=payment.status.value,
                reason=payment.reason,
            )
        )
