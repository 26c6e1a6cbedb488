"""What the dispatcher needs from an outbox: the records and the operations on them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dolmen.events._envelope import Envelope

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

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


class DeliveryStore(ABC):
    """The outbox: events and their deliveries, claimed under leases.

    Every method that changes a delivery held by a dispatcher names that dispatcher
    (``owner``) and changes nothing when it no longer holds the lease.
    """

    @abstractmethod
    async def append(
        self,
        connection: AsyncConnection | None,
        envelopes: Sequence[Envelope],
        deliveries: Sequence[NewDelivery],
    ) -> None:
        """Write events and their deliveries in the caller's transaction."""

    @abstractmethod
    async def claim(
        self, owner: str, limit: int, now: float, lease: float, completed: Sequence[int] = ()
    ) -> list[Claimed]:
        """Take up to ``limit`` due deliveries, oldest first, counting one more try each.

        ``completed`` deliveries (held by ``owner``) are marked done first, in the same
        transaction: one write instead of two.

        A delivery of an ordered handler is due only when no earlier delivery with the
        same ordering key for that handler is pending or running.
        """

    @abstractmethod
    async def complete(
        self,
        ids: Sequence[int],
        owner: str,
        now: float,
        connection: AsyncConnection | None = None,
    ) -> int:
        """Mark deliveries done (in ``connection``'s transaction if given); returns how many."""

    @abstractmethod
    async def fail(
        self,
        delivery: int,
        owner: str,
        now: float,
        *,
        retry_at: float | None,
        error: str,
        traceback: str | None,
    ) -> bool:
        """Record a failed try: pending again from ``retry_at``, or dead when None.

        Returns False when ``owner`` no longer held the delivery (nothing was changed).
        """

    @abstractmethod
    async def reap(self, now: float) -> int:
        """Give back deliveries whose lease expired (dead if that was their last try)."""

    @abstractmethod
    async def extend(self, ids: Sequence[int], owner: str, until: float) -> None:
        """Renew the lease on deliveries still running here."""

    @abstractmethod
    async def release(self, ids: Sequence[int], owner: str, now: float) -> None:
        """Give deliveries back untried (shutdown): pending, that try not counted."""

    @abstractmethod
    async def next_due(self) -> float | None:
        """When the earliest pending delivery becomes due; None when none is pending."""

    @abstractmethod
    async def unsettled(self, due_by: float | None = None) -> int:
        """How many deliveries are running or pending (only those due by ``due_by`` if given)."""

    @abstractmethod
    async def dead_letters(
        self, selection: Selection | None, limit: int | None
    ) -> list[DeadLetter]:
        """Dead deliveries, oldest first (all of them when ``selection`` is None)."""

    @abstractmethod
    async def replay(self, selection: Selection, now: float) -> int:
        """Make dead deliveries pending again with a fresh count of tries."""

    @abstractmethod
    async def discard(self, selection: Selection) -> int:
        """Delete dead deliveries for good."""

    @abstractmethod
    async def stats(self, now: float) -> list[HandlerStats]:
        """Counts per handler, sorted by handler."""

    @abstractmethod
    async def purge(self, done_before: float) -> int:
        """Delete deliveries completed before ``done_before`` and events nothing refers to."""
