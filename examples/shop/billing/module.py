"""The billing module's declaration and its event handler."""

from dolmen import Lifetime, Module, provide
from shop.billing.adapters.fake_gateway import FakePaymentGateway
from shop.billing.adapters.repository import SqlPaymentRepository
from shop.billing.adapters.tables import tables
from shop.billing.domain.ports import PaymentGateway, PaymentRepository
from shop.billing.service import BillingService
from shop.billing.settings import BillingSettings
from shop.billing.web import router
from shop.orders.api import OrderPlaced

module = Module(
    "billing",
    listens_to=["orders"],
    settings=BillingSettings,
    providers=[
        provide(PaymentRepository, SqlPaymentRepository),
        provide(PaymentGateway, FakePaymentGateway, lifetime=Lifetime.APP),
        provide(BillingService),
    ],
    routers=[router],
    tables=tables,
)


@module.on(OrderPlaced)
async def charge_order(event: OrderPlaced, billing: BillingService) -> None:
    """An order was placed: charge the customer."""
    await billing.charge_order(event.order_id, event.customer_email, event.total)
