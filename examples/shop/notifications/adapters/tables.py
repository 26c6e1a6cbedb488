"""The notifications module's table (``notifications__notifications``)."""

from sqlalchemy import Column, Integer, String, UniqueConstraint

from dolmen import ModuleTables

tables = ModuleTables("notifications")

notifications = tables.table(
    "notifications",
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("sender", String(100), nullable=False),
    Column("email", String(320), nullable=False, index=True),
    Column("order_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("subject", String(500), nullable=False),
    UniqueConstraint("order_id", "kind"),
)
