"""The billing module's declaration."""

from dolmen import Lifetime, Module, provide
from shop.billing.adapters.fake_gateway import FakePaymentGateway
from shop.billing.adapters.repository import SqlPaymentRepository
from shop.billing.adapters.tables import tables
from shop.billing.domain.ports import PaymentGateway, PaymentRepository
from shop.billing.handlers import charge_order
from shop.billing.service import BillingService
from shop.billing.settings import BillingSettings
from shop.billing.web import router

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
    handlers=[charge_order],
)
