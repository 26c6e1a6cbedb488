"""An order, its lines, and how its status moves."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal


class OrderStatus(enum.StrEnum):
    """Where an order stands: pending until billing says paid or payment_failed."""

    PENDING = "pending"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"


class OrderNotFound(LookupError):
    """No order has this id."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order with id {order_id!r}")
        self.order_id = order_id


@dataclass(frozen=True)
class OrderLine:
    """``quantity`` items of ``sku`` at ``unit_price`` each."""

    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        """The line's price."""
        return self.unit_price * self.quantity


@dataclass
class Order:
    """A customer's order."""

    id: str
    customer_email: str
    lines: list[OrderLine]
    status: OrderStatus = OrderStatus.PENDING
    failure_reason: str | None = None
    changed: bool = field(default=False, compare=False)

    @classmethod
    def place(cls, order_id: str, customer_email: str, lines: list[OrderLine]) -> Order:
        """A new pending order; it must have at least one line."""
        if not lines:
            raise ValueError("an order needs at least one line")
        return cls(order_id, customer_email, lines)

    @property
    def total(self) -> Decimal:
        """What the customer pays."""
        return sum((line.total for line in self.lines), Decimal("0"))

    def mark_paid(self) -> None:
        """Payment was captured. Repeating it changes nothing."""
        self._settle(OrderStatus.PAID, None)

    def mark_payment_failed(self, reason: str) -> None:
        """Payment was refused. Repeating it changes nothing."""
        self._settle(OrderStatus.PAYMENT_FAILED, reason)

    def _settle(self, status: OrderStatus, reason: str | None) -> None:
        if self.status is status:
            return
        if self.status is not OrderStatus.PENDING:
            raise ValueError(f"order {self.id} is {self.status}, it cannot become {status}")
        self.status = status
        self.failure_reason = reason
        self.changed = True
