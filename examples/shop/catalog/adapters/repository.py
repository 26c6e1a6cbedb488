"""Products stored with SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen.persistence import is_unique_violation
from shop.catalog.adapters.tables import products
from shop.catalog.domain.errors import DuplicateProduct
from shop.catalog.domain.product import Product

# The repository's fixed queries are built once, their values passed at each call: SQLAlchemy
# then finds the compiled statement without building the query and its cache key again (a
# third of the cost of reading one product).
BY_SKU = select(products).where(products.c.sku == bindparam("sku"))
FOR_UPDATE = (
    select(products)
    .where(products.c.sku.in_(bindparam("skus", expanding=True)))
    .order_by(products.c.sku)
    .with_for_update()
)


class SqlProductRepository:
    """Implements :class:`~shop.catalog.domain.ports.ProductRepository` on the module's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        row = (await self.session.execute(BY_SKU, {"sku": sku})).first()
        return _product(row) if row else None

    async def get_for_update(self, skus: Sequence[str]) -> dict[str, Product]:
        """The products with these SKUs, locked (PostgreSQL) until the transaction ends."""
        rows = (await self.session.execute(FOR_UPDATE, {"skus": list(skus)})).all()
        return {row.sku: _product(row) for row in rows}

    async def add(self, product: Product) -> None:
        """Store a new product; raises DuplicateProduct if its SKU is taken.

        The primary key decides, not a look-up first: two requests adding the same SKU at
        once both find it free, and only the database sees that the second one comes second.
        """
        statement = insert(products).values(
            sku=product.sku, name=product.name, price=product.price, stock=product.stock
        )
        try:
            await self.session.execute(statement)
        except IntegrityError as error:
            if is_unique_violation(error):
                raise DuplicateProduct(product.sku) from error
            raise

    async def save_stock(self, product: Product) -> None:
        """Store the product's new stock level."""
        await self.session.execute(
            update(products).where(products.c.sku == product.sku).values(stock=product.stock)
        )


def _product(row: Row[tuple[object, ...]]) -> Product:
    return Product(row.sku, row.name, row.price, row.stock)
