"""The billing module's table (``billing__payments``)."""

from sqlalchemy import Column, Numeric, String

from dolmen import ModuleTables
from shop.kernel import MONEY_DIGITS, MONEY_PLACES

tables = ModuleTables("billing")

payments = tables.table(
    "payments",
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, unique=True),
    # Exact on both databases: see shop.kernel.MONEY_DIGITS. Orders cost at most MAX_AMOUNT.
    Column("amount", Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", String(500)),
)
