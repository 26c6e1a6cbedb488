"""The billing module's public contract: the events it publishes."""

from __future__ import annotations

from decimal import Decimal

from dolmen import Event


class PaymentCaptured(Event, version=1):
    """The customer was charged for the order."""

    order_id: str
    customer_email: str
    amount: Decimal
    payment_id: str


class PaymentFailed(Event, version=1):
    """The customer could not be charged for the order."""

    order_id: str
    customer_email: str
    amount: Decimal
    reason: str


__all__ = ["PaymentCaptured", "PaymentFailed"]
