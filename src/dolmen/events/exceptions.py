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


class LeaseLost(RuntimeError):
    """The delivery is no longer held here: another process took it after its lease ran out.

    A dispatcher's runner raises it when recording a completion finds the lease gone; the
    handler's effects are rolled back with it, and the dispatcher logs it (no retry here).
    """

    def __init__(self, delivery: int) -> None:
        super().__init__(f"delivery {delivery} was taken over after its lease ran out")
        self.delivery = delivery
