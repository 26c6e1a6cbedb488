"""The catalog's tables (``catalog__products``)."""

from sqlalchemy import BigInteger, CheckConstraint, Column, Numeric, String

from dolmen import ModuleTables
from shop.kernel import MONEY_DIGITS, MONEY_PLACES

tables = ModuleTables("catalog")

products = tables.table(
    "products",
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    # Exact on both databases: see shop.kernel.MONEY_DIGITS.
    Column("price", Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True), nullable=False),
    Column("stock", BigInteger, nullable=False),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
)
