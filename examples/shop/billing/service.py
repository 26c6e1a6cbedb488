"""The billing module's use cases."""

from __future__ import annotations

import uuid
from decimal import Decimal

from dolmen import EventPublisher
from shop.billing.api import PaymentCaptured, PaymentFailed
from shop.billing.domain.payment import Payment, PaymentStatus
from shop.billing.domain.ports import PaymentGateway, PaymentRepository


class BillingService:
    """Charges orders, once each, and says how it went."""

    def __init__(
        self, payments: PaymentRepository, gateway: PaymentGateway, events: EventPublisher
    ) -> None:
        self.payments = payments
        self.gateway = gateway
        self.events = events

    async def charge_order(self, order_id: str, customer_email: str, amount: Decimal) -> Payment:
        """Charge the order unless it already was; publish PaymentCaptured or PaymentFailed.

        The gateway is called first, before any statement: the order id is its idempotency
        key, so a retry is charged once, and no transaction stays open during the call (on
        SQLite a writing transaction holds the database's write lock from its first
        statement to its commit).
        """
        result = await self.gateway.charge(reference=order_id, amount=amount)
        existing = await self.payments.for_order(order_id)
        if existing is not None:
            return existing
        payment = Payment.from_charge(str(uuid.uuid4()), order_id, amount, result)
        await self.payments.add(payment)
        if payment.status is PaymentStatus.CAPTURED:
            self.events.publish(
                PaymentCaptured(
                    order_id=order_id,
                    customer_email=customer_email,
                    amount=amount,
                    payment_id=payment.id,
                )
            )
        else:
            self.events.publish(
                PaymentFailed(
                    order_id=order_id,
                    customer_email=customer_email,
                    amount=amount,
                    reason=payment.reason or "declined",
                )
            )
        return payment

    async def payment_for(self, order_id: str) -> Payment | None:
        """The payment of this order, if it was charged."""
        return await self.payments.for_order(order_id)
