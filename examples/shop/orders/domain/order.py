"""An order, its lines, and how its status moves."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from shop.kernel import MAX_AMOUNT

MAX_LINES = 100
"""The most lines one order may have."""


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


class OrderTooLarge(ValueError):
    """The order would cost more than the shop can charge in one payment."""

    def __init__(self, total: Decimal, limit: Decimal) -> None:
        super().__init__(
            f"the order's total {total} is above {limit}, the most one order may cost; "
            "split it into smaller orders"
        )
        self.total = total
        self.limit = limit


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
        """A new pending order: at least one line, costing at most MAX_AMOUNT.

        Raises OrderTooLarge above that: billing could not store its payment, and an order
        that can never be settled must not be accepted.
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        order = cls(order_id, customer_email, lines)
        if order.total > MAX_AMOUNT:
            raise OrderTooLarge(order.total, MAX_AMOUNT)
        return order

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
