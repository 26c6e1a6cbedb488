"""The records the outbox and the delivery queue take and give (see :mod:`dolmen.events._ports`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dolmen.events._delivery import DeliveryContext, decode
from dolmen.events._envelope import Envelope

if TYPE_CHECKING:
    from dolmen.events._event import Event

PENDING, RUNNING, DONE, DEAD = "pending", "running", "done", "dead"
LEASE_EXPIRED = (
    "the lease expired: the process running this delivery stopped (killed or crashed) or "
    "stalled before finishing it"
)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One handler's copy of a published event, written with the event."""

    event_id: str
    handler: str
    event_type: str
    max_attempts: int
    ordering_key: str | None = None


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this dispatcher now holds under its lease: run its handler."""

    id: int
    handler: str
    attempts: int
    """Tries so far, this one included (counted when claimed)."""
    max_attempts: int
    envelope: Envelope

    def context(self) -> DeliveryContext:
        """What the handler is told about this delivery (ask for it by type)."""
        envelope = self.envelope
        return DeliveryContext(
            event_id=envelope.id,
            event_type=envelope.type,
            handler=self.handler,
            attempt=self.attempts,
            max_attempts=self.max_attempts,
            subject=envelope.subject,
            published_at=envelope.time,
            source=envelope.source,
            envelope=envelope,
        )

    def event(self, event_type: type[Event]) -> Event:
        """The stored event as an instance of ``event_type`` (upcast to its version).

        Raises :class:`PoisonEvent` when it cannot be read as one.
        """
        return decode(self.envelope, event_type)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A delivery that will not be tried again by itself, and why."""

    id: int
    handler: str
    event_type: str
    attempts: int
    error: str
    traceback: str | None
    failed_at: float
    envelope: Envelope | None
    """None when the event itself is gone (kept for its error only)."""


@dataclass(frozen=True, slots=True)
class HandlerStats:
    """Where one handler's deliveries stand."""

    handler: str
    pending: int
    in_flight: int
    retrying: int
    """Pending deliveries that have failed before (a subset of ``pending``)."""
    dead: int
    oldest_pending_age: float | None
    """Seconds since the oldest pending delivery was published; None when none is."""
    dispatchers: int = 0
    """Running dispatchers (one per process) that have this handler."""

    @property
    def unhandled(self) -> bool:
        """Deliveries wait, and no running process has the handler to run them."""
        return self.dispatchers == 0 and self.pending > 0


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters an operation applies to: ids, a handler, an event type, or all."""

    ids: tuple[int, ...] = ()
    handler: str | None = None
    event_type: str | None = None
    everything: bool = False

    def __post_init__(self) -> None:
        narrowed = bool(self.ids or self.handler or self.event_type)
        if not (narrowed or self.everything):
            raise ValueError(
                "say which dead letters: ids, a handler, an event type, or everything=True"
            )
        if narrowed and self.everything:
            raise ValueError("everything=True selects every dead letter: give it alone")
