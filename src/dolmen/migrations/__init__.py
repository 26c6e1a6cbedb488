"""Per-module schema migrations on Alembic.

Each module owns its migration history (``<module package>/migrations/versions/``) and its
version record (the table ``<module>__alembic_version``); Dolmen's own tables (the outbox)
have a history shipped with Dolmen. ``dolmen db ...`` runs them; ``[app] database_schema`` says what
an app does with them at start-up (see docs/migrations.md).
"""

from dolmen.migrations._history import MigrationHistory, dolmen_history, module_history
from dolmen.migrations._runner import Migrations, scratch_database
from dolmen.migrations._startup import prepare_schema
from dolmen.migrations.exceptions import (
    CrossModuleMigrationError,
    MigrationError,
    SchemaNotCurrentError,
)

__all__ = [
    "CrossModuleMigrationError",
    "MigrationError",
    "MigrationHistory",
    "Migrations",
    "SchemaNotCurrentError",
    "dolmen_history",
    "module_history",
    "prepare_schema",
    "scratch_database",
]
