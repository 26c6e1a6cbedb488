"""Errors raised by Dolmen's migrations."""

from __future__ import annotations


class MigrationError(RuntimeError):
    """A migration command cannot run, or a migration failed; the message says what to do."""


class CrossModuleMigrationError(MigrationError):
    """A module's migration touches a table that is not the module's own."""


class SchemaNotCurrentError(MigrationError):
    """The database is behind (or ahead of) the migrations of the app's code.

    Raised at start-up with ``[app] schema = "check"``; its message names the command to run.
    """
