"""The catalog's use cases."""

from __future__ import annotations

from collections.abc import Sequence

from shop.catalog.api import NewProduct, ProductView, ReservedLine, StockRequest
from shop.catalog.domain.errors import UnknownProduct
from shop.catalog.domain.ports import ProductRepository
from shop.catalog.domain.product import Product


class Catalog:
    """Implements :class:`~shop.catalog.api.CatalogService` on a product repository."""

    def __init__(self, products: ProductRepository) -> None:
        self.products = products

    async def add_product(self, product: NewProduct) -> ProductView:
        """Add a product; raises DuplicateProduct if the SKU exists (the repository says so)."""
        new = Product(product.sku, product.name, product.price, product.stock)
        await self.products.add(new)
        return _view(new)

    async def get_product(self, sku: str) -> ProductView:
        """The product with this SKU; raises UnknownProduct."""
        product = await self.products.get(sku)
        if product is None:
            raise UnknownProduct(sku)
        return _view(product)

    async def reserve(self, requests: Sequence[StockRequest]) -> list[ReservedLine]:
        """Take every requested item out of stock, all or nothing."""
        found = await self.products.get_for_update(sorted({r.sku for r in requests}))
        reserved = []
        for request in requests:
            product = found.get(request.sku)
            if product is None:
                raise UnknownProduct(request.sku)
            product.reserve(request.quantity)
            reserved.append(
                ReservedLine(sku=product.sku, quantity=request.quantity, unit_price=product.price)
            )
        for product in found.values():
            await self.products.save_stock(product)
        return reserved

    async def release(self, requests: Sequence[StockRequest]) -> None:
        """Put items reserved earlier back in stock."""
        found = await self.products.get_for_update(sorted({r.sku for r in requests}))
        for request in requests:
            product = found.get(request.sku)
            if product is None:
                raise UnknownProduct(request.sku)
            product.release(request.quantity)
        for product in found.values():
            await self.products.save_stock(product)


def _view(product: Product) -> ProductView:
    return ProductView(sku=product.sku, name=product.name, price=product.price, stock=product.stock)
