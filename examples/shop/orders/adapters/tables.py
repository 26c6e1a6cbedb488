"""The orders module's tables (``orders__orders``, ``orders__order_lines``)."""

from sqlalchemy import Column, ForeignKey, Integer, Numeric, String

from dolmen import ModuleTables
from shop.kernel import MONEY_DIGITS, MONEY_PLACES

tables = ModuleTables("orders")

orders = tables.table(
    "orders",
    Column("id", String(36), primary_key=True),
    Column("customer_email", String(320), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("failure_reason", String(500)),
)

order_lines = tables.table(
    "order_lines",
    Column("order_id", ForeignKey(orders.c.id, ondelete="CASCADE"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # at most MAX_LINES
    Column("sku", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),  # at most MAX_QUANTITY
    # Exact on both databases: see shop.kernel.MONEY_DIGITS.
    Column("unit_price", Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True), nullable=False),
)
