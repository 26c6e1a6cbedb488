"""The catalog's tables (``catalog__products``, ``catalog__reservations``)."""

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, Double, Index, Numeric, String

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

reservations = tables.table(
    "reservations",
    Column("id", String(64), primary_key=True),
    # [{"sku", "quantity", "unit_price"}], the price as a decimal string.
    Column("items", JSON, nullable=False),
    Column("expires_at", Double, nullable=False),  # seconds since the epoch
    Column("state", String(16), nullable=False),
    Index("ix_catalog__reservations_state_expires_at", "state", "expires_at"),
)
