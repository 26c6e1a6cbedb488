"""The orders module's declaration and its event handlers."""

from dolmen import Module, provide
from shop.billing.api import PaymentCaptured, PaymentFailed
from shop.orders.adapters.repository import SqlOrderRepository
from shop.orders.adapters.tables import tables
from shop.orders.domain.order import OrderNotFound, OrderTooLarge
from shop.orders.domain.ports import OrderRepository
from shop.orders.service import OrderService
from shop.orders.web import router

module = Module(
    "orders",
    depends_on=["catalog"],
    listens_to=["billing"],
    providers=[provide(OrderRepository, SqlOrderRepository), provide(OrderService)],
    routers=[router],
    tables=tables,
    errors={OrderNotFound: 404, OrderTooLarge: 422},
)


@module.on(PaymentCaptured)
async def mark_order_paid(event: PaymentCaptured, orders: OrderService) -> None:
    """Billing captured the payment: the order is paid."""
    await orders.mark_paid(event.order_id)


@module.on(PaymentFailed)
async def mark_order_payment_failed(event: PaymentFailed, orders: OrderService) -> None:
    """Billing could not charge: the order's payment failed."""
    await orders.mark_payment_failed(event.order_id, event.reason)
