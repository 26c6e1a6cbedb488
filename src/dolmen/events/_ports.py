"""The event runtime's ports: the outbox, the delivery queue, and wake-ups between processes.

Dolmen ships two implementations of the outbox and the queue (one object is both): the
application's database (:class:`~dolmen.events.SqlDeliveryStore`) and this process's memory
(:class:`~dolmen.events.InMemoryDeliveryStore`, for tests). Every process that shares an
outbox claims only the deliveries of the handlers it has.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from dolmen.events._envelope import Envelope
    from dolmen.events._records import Claimed, DeadLetter, HandlerStats, NewDelivery, Selection
    from dolmen.persistence import UnitOfWork


class Outbox(Protocol):
    """Where published events and their deliveries are written, with the publisher's work."""

    async def append(
        self,
        uow: UnitOfWork | None,
        envelopes: Sequence[Envelope],
        deliveries: Sequence[NewDelivery],
    ) -> None:
        """Write events and one delivery per handler in ``uow``'s transaction.

        They exist once it commits, and never if it rolls back. ``None`` is for outboxes
        that can write on their own (the in-memory one writes at once).
        """
        ...


class DeliveryQueue(Protocol):
    """The deliveries of an outbox, claimed by dispatchers under leases.

    Every method that changes a delivery held by a dispatcher names that dispatcher
    (``owner``) and changes nothing once it no longer holds the lease. A dispatcher claims
    only the deliveries of the handlers it names; the others wait for a process that has
    them (:meth:`stats` tells which handlers no running dispatcher has).
    """

    async def claim(
        self,
        owner: str,
        handlers: Collection[str],
        limit: int,
        now: float,
        lease: float,
        completed: Sequence[int] = (),
    ) -> list[Claimed]:
        """Take up to ``limit`` due deliveries of ``handlers``, oldest first, one more try each.

        ``completed`` deliveries (held by ``owner``) are marked done first, in the same
        transaction. A delivery of an ordered handler is due only when no earlier delivery
        with the same ordering key for that handler is pending or running.
        """
        ...

    async def complete(
        self, ids: Sequence[int], owner: str, now: float, uow: UnitOfWork | None = None
    ) -> int:
        """Mark deliveries still held by ``owner`` done; returns how many.

        With ``uow``, in its transaction: done once it commits, with the handler's effects.
        """
        ...

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
        ...

    async def release(self, ids: Sequence[int], owner: str, now: float) -> None:
        """Give deliveries back untried (shutdown): pending, that try not counted."""
        ...

    async def extend(self, ids: Sequence[int], owner: str, until: float) -> None:
        """Renew the lease on deliveries still held by ``owner``."""
        ...

    async def reap(self, now: float) -> int:
        """Give back deliveries whose lease expired (dead if that was their last try)."""
        ...

    async def announce(self, owner: str, handlers: Collection[str], until: float) -> None:
        """Say that dispatcher ``owner`` runs ``handlers`` until ``until`` (renewed as it runs)."""
        ...

    async def withdraw(self, owner: str) -> None:
        """Dispatcher ``owner`` stopped: it runs no handler any more."""
        ...

    async def next_due(self, handlers: Collection[str] | None = None) -> float | None:
        """When the earliest pending delivery (of ``handlers``) becomes due; None if none is."""
        ...

    async def unsettled(
        self, due_by: float | None = None, handlers: Collection[str] | None = None
    ) -> int:
        """How many deliveries (of ``handlers``) are running or pending (due by ``due_by``)."""
        ...

    async def dead_letters(
        self, selection: Selection | None, limit: int | None
    ) -> list[DeadLetter]:
        """Dead deliveries, oldest first (all of them when ``selection`` is None)."""
        ...

    async def replay(self, selection: Selection, now: float) -> int:
        """Make dead deliveries pending again with a fresh count of tries."""
        ...

    async def discard(self, selection: Selection) -> int:
        """Delete dead deliveries for good."""
        ...

    async def stats(self, now: float) -> list[HandlerStats]:
        """Counts per handler, sorted by handler, with how many running dispatchers have it."""
        ...

    async def purge(self, done_before: float) -> int:
        """Delete deliveries completed before ``done_before``."""
        ...


class Inbox(Protocol):
    """Where a unit takes in the events another unit sent it through a broker, once each.

    Both of Dolmen's delivery stores are one. A broker delivers at least once: the same
    event may come again (its acknowledgement was lost, its consumer died), and must then
    add nothing.
    """

    async def receive(
        self, envelopes: Sequence[Envelope], deliveries: Sequence[NewDelivery], now: float
    ) -> int:
        """Write the deliveries not received before, with their events, in one transaction.

        A delivery counts as received before when one with the same event id and handler
        was (its row in ``dolmen__received``, kept after the delivery is done). Returns how
        many deliveries were written.
        """
        ...

    async def forget_received(self, before: float) -> int:
        """Forget the events received before ``before``; a copy of one arriving later is new."""
        ...


class DeliveryStore(Outbox, DeliveryQueue, Protocol):
    """An outbox that is also the queue of its deliveries (both of Dolmen's are)."""


class Wakeup(Protocol):
    """How the processes sharing an outbox tell each other that new deliveries committed.

    A hint only: a lost one costs a poll interval, never an event.
    """

    async def open(self) -> None:
        """Prepare, when the app starts (PostgreSQL: the outbox's NOTIFY trigger)."""
        ...

    async def listen(self, hint: Callable[[], None], listening: Callable[[bool], None]) -> None:
        """Call ``hint`` on each hint; ``listening`` says whether hints reach this process."""
        ...

    def notify(self) -> None:
        """Wake the other processes: new deliveries were committed here."""
        ...

    async def close(self) -> None:
        """Stop listening and sending."""
        ...
