"""The catalog module's declaration."""

from dolmen import Module, provide
from shop.catalog.adapters.repository import SqlProductRepository
from shop.catalog.adapters.tables import tables
from shop.catalog.api import CatalogService, DuplicateProduct, InsufficientStock, UnknownProduct
from shop.catalog.domain.ports import ProductRepository
from shop.catalog.service import Catalog
from shop.catalog.web import router

module = Module(
    "catalog",
    providers=[
        provide(ProductRepository, SqlProductRepository),
        provide(CatalogService, Catalog, public=True),
    ],
    routers=[router],
    tables=tables,
    errors={UnknownProduct: 404, DuplicateProduct: 409, InsufficientStock: 409},
)
