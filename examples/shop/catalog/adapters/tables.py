"""The catalog's tables (``catalog__products``)."""

from sqlalchemy import CheckConstraint, Column, Integer, String

from dolmen import ModuleTables

tables = ModuleTables("catalog")

products = tables.table(
    "products",
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("stock", Integer, nullable=False),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
)
