"""The orders module's declaration."""

from dolmen import Module, provide
from shop.orders.adapters.repository import SqlOrderRepository
from shop.orders.adapters.tables import tables
from shop.orders.domain.order import OrderNotFound, OrderTooLarge
from shop.orders.domain.ports import OrderRepository
from shop.orders.handlers import mark_order_paid, mark_order_payment_failed
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
    handlers=[mark_order_paid, mark_order_payment_failed],
)
