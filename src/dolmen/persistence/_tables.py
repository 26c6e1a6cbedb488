"""Per-module table declarations: each module owns its tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class ModuleTables:
    """The tables of one module.

    ``tables.table("orders", ...)`` declares the table ``orders__orders`` in the
    schema ``orders``. On PostgreSQL the module gets that schema of its own; on
    SQLite, which has no schemas, the module prefix in the name keeps modules
    apart. Constraint and index names carry the prefix too, so they never clash.
    """

    def __init__(self, module: str) -> None:
        self.module = module
        self.metadata = MetaData(schema=module, naming_convention=NAMING_CONVENTION)

    def table(self, name: str, *args: Any, **kwargs: Any) -> Table:
        """Declare the module's table ``name`` (a SQLAlchemy :class:`~sqlalchemy.Table`)."""
        return Table(self.table_name(name), self.metadata, *args, **kwargs)

    def table_name(self, name: str) -> str:
        """The stored name of the module's table ``name``: ``<module>__<name>``."""
        return f"{self.module}__{name}"

    def __repr__(self) -> str:
        return f"ModuleTables({self.module!r}, tables={sorted(self.metadata.tables)!r})"
