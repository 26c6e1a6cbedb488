"""Errors raised by Dolmen's persistence layer."""

from __future__ import annotations


class PersistenceError(RuntimeError):
    """Base class for persistence errors."""


class DatabaseConfigurationError(PersistenceError, ValueError):
    """The database URL or driver cannot be used."""


class CrossModuleDataAccessError(PersistenceError):
    """A module's session touched a table that another module owns."""


class ReadOnlyWorkError(PersistenceError):
    """A read-only unit of work (a GET request) tried to change data."""


class UnitOfWorkClosedError(PersistenceError):
    """The unit of work was used after it was committed or rolled back."""


class DatabaseBusyError(PersistenceError):
    """A unit of work waited too long for its turn to write (SQLite: one writer at a time)."""
