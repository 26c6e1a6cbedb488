"""The billing module's table (``billing__payments``)."""

from sqlalchemy import Column, Integer, String

from dolmen import ModuleTables

tables = ModuleTables("billing")

payments = tables.table(
    "payments",
    Column("id", String(36), primary_key=True),
    Column("order_id", String(36), nullable=False, unique=True),
    Column("amount_cents", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", String(500)),
)
