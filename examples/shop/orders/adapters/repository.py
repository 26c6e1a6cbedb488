"""Orders stored with SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shop.orders.adapters.tables import order_lines, orders
from shop.orders.domain.order import Order, OrderLine, OrderStatus


class SqlOrderRepository:
    """Implements :class:`~shop.orders.domain.ports.OrderRepository` on the module's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: str) -> Order | None:
        """The order with this id, with its lines, or None."""
        row = (await self.session.execute(select(orders).where(orders.c.id == order_id))).first()
        if row is None:
            return None
        lines = await self.session.execute(
            select(order_lines)
            .where(order_lines.c.order_id == order_id)
            .order_by(order_lines.c.line_no)
        )
        return Order(
            id=row.id,
            customer_email=row.customer_email,
            lines=[OrderLine(r.sku, r.quantity, r.unit_price) for r in lines],
            status=OrderStatus(row.status),
            failure_reason=row.failure_reason,
        )

    async def add(self, order: Order) -> None:
        """Store a new order and its lines."""
        await self.session.execute(
            insert(orders).values(
                id=order.id,
                customer_email=order.customer_email,
                status=order.status.value,
            )
        )
        await self.session.execute(
            insert(order_lines),
            [
                {
                    "order_id": order.id,
                    "line_no": n,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": line.unit_price,
                }
                for n, line in enumerate(order.lines, start=1)
            ],
        )

    async def save_status(self, order: Order) -> None:
        """Store the order's status and failure reason."""
        if order.changed:
            await self.session.execute(
                update(orders)
                .where(orders.c.id == order.id)
                .values(status=order.status.value, failure_reason=order.failure_reason)
            )
