"""A payment attempt for an order, and what the gateway answered."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class PaymentStatus(enum.StrEnum):
    """Whether the charge went through."""

    CAPTURED = "captured"
    FAILED = "failed"


@dataclass(frozen=True)
class ChargeResult:
    """The gateway's answer: approved with a transaction id, or declined with a reason."""

    approved: bool
    transaction_id: str | None = None
    decline_reason: str | None = None


@dataclass(frozen=True)
class Payment:
    """The outcome of charging one order (there is at most one per order)."""

    id: str
    order_id: str
    amount: Decimal
    status: PaymentStatus
    reason: str | None = None

    @classmethod
    def from_charge(
        cls, payment_id: str, order_id: str, amount: Decimal, result: ChargeResult
    ) -> Payment:
        """Record what the gateway answered."""
        if result.approved:
            return cls(payment_id, order_id, amount, PaymentStatus.CAPTURED)
        return cls(
            payment_id, order_id, amount, PaymentStatus.FAILED, result.decline_reason or "declined"
        )
