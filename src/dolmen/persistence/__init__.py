"""Per-module persistence on SQLAlchemy 2 (async): tables, database, unit of work."""

from dolmen.persistence._database import Database, normalize_url, schema_change
from dolmen.persistence._db_errors import is_unique_violation, sqlstate
from dolmen.persistence._guard import ModuleSession
from dolmen.persistence._sqlite_driver import Connection as SQLiteConnection
from dolmen.persistence._tables import ModuleTables
from dolmen.persistence._uow import UnitOfWork
from dolmen.persistence.exceptions import (
    CrossModuleDataAccessError,
    DatabaseBusyError,
    DatabaseConfigurationError,
    PersistenceError,
    ReadOnlyWorkError,
    UnitOfWorkClosedError,
)

__all__ = [
    "CrossModuleDataAccessError",
    "Database",
    "DatabaseBusyError",
    "DatabaseConfigurationError",
    "ModuleSession",
    "ModuleTables",
    "PersistenceError",
    "ReadOnlyWorkError",
    "SQLiteConnection",
    "UnitOfWork",
    "UnitOfWorkClosedError",
    "is_unique_violation",
    "normalize_url",
    "schema_change",
    "sqlstate",
]
