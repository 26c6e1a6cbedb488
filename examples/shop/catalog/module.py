"""The catalog module's declaration."""

from dolmen import Lifetime, Module, provide
from dolmen.events import Clock, SystemClock
from shop.catalog.adapters.repository import SqlProductRepository
from shop.catalog.adapters.reservations import SqlReservationRepository
from shop.catalog.adapters.tables import tables
from shop.catalog.api import CatalogService, DuplicateProduct, InsufficientStock, UnknownProduct
from shop.catalog.domain.ports import ProductRepository, ReservationRepository
from shop.catalog.handlers import confirm_reservation
from shop.catalog.service import Catalog
from shop.catalog.settings import CatalogSettings
from shop.catalog.sweeper import ReservationSweeper, start_sweeping, stop_sweeping
from shop.catalog.web import router

module = Module(
    "catalog",
    listens_to=["orders"],  # orders' OrderPlaced confirms a reservation
    settings=CatalogSettings,
    providers=[
        provide(ProductRepository, SqlProductRepository),
        provide(ReservationRepository, SqlReservationRepository),
        provide(Clock, SystemClock, lifetime=Lifetime.APP),  # tests bring their own
        provide(Catalog),  # for the handler and the sweeper
        provide(CatalogService, Catalog, public=True),
        provide(ReservationSweeper, lifetime=Lifetime.APP),
    ],
    routers=[router],
    tables=tables,
    errors={UnknownProduct: 404, DuplicateProduct: 409, InsufficientStock: 409},
    handlers=[confirm_reservation],
    on_startup=[start_sweeping],
    on_shutdown=[stop_sweeping],
)
