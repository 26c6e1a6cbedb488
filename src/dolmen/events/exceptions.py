"""Errors raised by Dolmen's events."""

from __future__ import annotations


class EventDeclarationError(TypeError):
    """An event class or handler is declared in a way Dolmen cannot use."""


class ForeignEventError(ValueError):
    """A module published an event that another module owns."""


class UpcastError(ValueError):
    """Stored event data cannot be brought to the version the code expects."""


class OutboxError(RuntimeError):
    """Events cannot be written to, or read from, the outbox as asked."""


class LockFileError(ValueError):
    """The events lock cannot be used: missing, not JSON, or not an events lock."""
