"""The outbox in Python dicts: for unit tests and for trying things out."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dolmen.events._envelope import Envelope
from dolmen.events._records import (
    DEAD,
    DONE,
    LEASE_EXPIRED,
    PENDING,
    RUNNING,
    Claimed,
    DeadLetter,
    HandlerStats,
    NewDelivery,
    Selection,
)

if TYPE_CHECKING:
    from dolmen.persistence import UnitOfWork


@dataclass(slots=True)
class _Delivery:
    """One row of the SQL store's ``dolmen__deliveries`` table."""

    id: int
    event_id: str
    handler: str
    event_type: str
    ordering_key: str | None
    max_attempts: int
    available_at: float
    created_at: float
    status: str = PENDING
    attempts: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    completed_at: float | None = None
    last_error: str | None = None
    traceback: str | None = None

    def held_by(self, owner: str) -> bool:
        return self.status == RUNNING and self.lease_owner == owner

    def unlease(self) -> None:
        self.lease_owner = self.lease_until = None


class InMemoryDeliveryStore:
    """An outbox and delivery queue in this process's memory, as ``SqlDeliveryStore`` behaves.

    For tests: give it to :class:`~dolmen.events.Dispatcher`, or to an app with
    ``App(..., event_backend=EventBackend.in_memory(store))``. Events are kept once the
    publishing unit of work commits (a rollback drops them), and a delivery completed in a
    handler's unit of work is done once that commits. It is not durable (everything is lost
    with the process) and only the apps of this process share it. With ``keep_completed``
    False a completed delivery is deleted at once, else marked done (see :meth:`purge`).
    """

    def __init__(self, *, keep_completed: bool = False) -> None:
        self.keep_completed = keep_completed
        self._events: dict[str, Envelope] = {}
        self._deliveries: dict[int, _Delivery] = {}
        self._ids = itertools.count(1)
        self._dispatchers: dict[str, tuple[frozenset[str], float]] = {}
        self._received: dict[tuple[str, str], float] = {}
        """When each (event id, handler) taken in from another unit was (see receive)."""
        self.hints: set[Callable[[], None]] = set()
        """How the apps sharing this store wake each other (see ``EventBackend.in_memory``)."""

    async def append(
        self,
        uow: UnitOfWork | None,
        envelopes: Sequence[Envelope],
        new: Sequence[NewDelivery],
    ) -> None:
        """Store events and their deliveries once ``uow`` commits (at once without one)."""
        if not new:
            return
        if uow is not None:
            envelopes, new = list(envelopes), list(new)
            uow.after_commit(lambda: self._store(envelopes, new))
        else:
            self._store(envelopes, new)

    def _store(self, envelopes: Sequence[Envelope], new: Sequence[NewDelivery]) -> None:
        now = max(e.time for e in envelopes)
        self._events.update((e.id, e) for e in envelopes)
        for d in new:
            delivery = _Delivery(
                next(self._ids), d.event_id, d.handler, d.event_type, d.ordering_key,
                d.max_attempts, available_at=now, created_at=now,
            )  # fmt: skip
            self._deliveries[delivery.id] = delivery

    async def receive(
        self, envelopes: Sequence[Envelope], new: Sequence[NewDelivery], now: float
    ) -> int:
        """Store the deliveries whose (event id, handler) was not received before."""
        fresh = []
        for d in new:
            if (d.event_id, d.handler) not in self._received:
                self._received[d.event_id, d.handler] = now
                fresh.append(d)
        if fresh:
            self._store(envelopes, fresh)
        return len(fresh)

    async def forget_received(self, before: float) -> int:
        """Forget the events received before ``before``."""
        old = [key for key, at in self._received.items() if at < before]
        for key in old:
            del self._received[key]
        return len(old)

    async def claim(
        self,
        owner: str,
        handlers: Collection[str],
        limit: int,
        now: float,
        lease: float,
        completed: Sequence[int] = (),
    ) -> list[Claimed]:
        """Take up to ``limit`` due deliveries of ``handlers``, oldest first, one more try each."""
        if completed:
            await self.complete(completed, owner, now)
        due = sorted(
            (d for d in self._with(PENDING) if d.available_at <= now and d.handler in handlers),
            key=lambda d: (d.available_at, d.id),
        )
        first = self._first_unsettled()
        chosen = [
            d for d in due if d.ordering_key is None or first[d.handler, d.ordering_key] == d.id
        ][: max(limit, 0)]
        for d in chosen:
            d.status, d.lease_owner, d.lease_until = RUNNING, owner, now + lease
            d.attempts += 1
        return [
            Claimed(d.id, d.handler, d.attempts, d.max_attempts, self._events[d.event_id])
            for d in sorted(chosen, key=lambda d: d.id)
        ]

    def _first_unsettled(self) -> dict[tuple[str, str], int]:
        """Per handler and ordering key, the earliest delivery pending or running.

        A delivery with an ordering key is held back until it is that earliest one.
        """
        first: dict[tuple[str, str], int] = {}
        for d in self._deliveries.values():
            if d.ordering_key is not None and d.status in (PENDING, RUNNING):
                key = (d.handler, d.ordering_key)
                first[key] = min(first.get(key, d.id), d.id)
        return first

    async def complete(
        self, ids: Sequence[int], owner: str, now: float, uow: UnitOfWork | None = None
    ) -> int:
        """Mark deliveries still held by ``owner`` done (or delete them); returns how many.

        With ``uow``, once it commits (if ``owner`` still holds them then).
        """
        mine = [d for d in self._find(ids) if d.held_by(owner)]
        if uow is not None:
            held = [d.id for d in mine]
            uow.after_commit(lambda: self._done(held, owner, now))
            return len(mine)
        self._done([d.id for d in mine], owner, now)
        return len(mine)

    def _done(self, ids: Sequence[int], owner: str, now: float) -> None:
        for d in self._find(ids):
            if not d.held_by(owner):
                continue
            if self.keep_completed:
                d.status, d.completed_at = DONE, now
                d.unlease()
            else:
                del self._deliveries[d.id]

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
        """Record a failed try: pending again from ``retry_at``, or dead when None."""
        for d in self._find([delivery]):
            if not d.held_by(owner):
                continue
            d.status = PENDING if retry_at is not None else DEAD
            d.available_at = retry_at if retry_at is not None else now
            d.last_error, d.traceback = error, traceback
            if retry_at is None:
                d.completed_at = now  # when it died
            d.unlease()
            return True
        return False

    async def reap(self, now: float) -> int:
        """Give back deliveries whose lease expired (dead if that was their last try)."""
        expired = [
            d
            for d in self._deliveries.values()
            if d.status == RUNNING and d.lease_until is not None and d.lease_until < now
        ]
        for d in expired:
            last_try = d.attempts >= d.max_attempts
            d.status = DEAD if last_try else PENDING
            d.completed_at = now if last_try else None
            d.available_at = now
            d.last_error, d.traceback = LEASE_EXPIRED, None
            d.unlease()
        return len(expired)

    async def extend(self, ids: Sequence[int], owner: str, until: float) -> None:
        """Renew the lease on deliveries still held by ``owner``."""
        for d in self._find(ids):
            if d.held_by(owner):
                d.lease_until = until

    async def release(self, ids: Sequence[int], owner: str, now: float) -> None:
        """Give deliveries back untried: pending, that try not counted."""
        for d in self._find(ids):
            if d.held_by(owner):
                d.status, d.attempts, d.available_at = PENDING, d.attempts - 1, now
                d.unlease()

    async def announce(self, owner: str, handlers: Collection[str], until: float) -> None:
        """Record (or renew) which handlers dispatcher ``owner`` runs, until ``until``."""
        self._dispatchers[owner] = (frozenset(handlers), until)

    async def withdraw(self, owner: str) -> None:
        """Forget dispatcher ``owner``."""
        self._dispatchers.pop(owner, None)

    async def next_due(self, handlers: Collection[str] | None = None) -> float | None:
        """When the earliest pending delivery (of ``handlers``) becomes due; None if none is."""
        pending = self._with(PENDING, handlers)
        return min((d.available_at for d in pending), default=None)

    async def unsettled(
        self, due_by: float | None = None, handlers: Collection[str] | None = None
    ) -> int:
        """How many deliveries (of ``handlers``) are running or pending (due by ``due_by``)."""
        running = len(self._with(RUNNING, handlers))
        pending = self._with(PENDING, handlers)
        return running + sum(1 for d in pending if due_by is None or d.available_at <= due_by)

    async def dead_letters(
        self, selection: Selection | None, limit: int | None
    ) -> list[DeadLetter]:
        """Dead deliveries, oldest first (all of them when ``selection`` is None)."""
        dead = self._dead(selection)[:limit]
        return [
            DeadLetter(
                id=d.id,
                handler=d.handler,
                event_type=d.event_type,
                attempts=d.attempts,
                error=d.last_error or "",
                traceback=d.traceback,
                failed_at=d.completed_at or d.available_at,
                envelope=self._events.get(d.event_id),
            )
            for d in dead
        ]

    async def replay(self, selection: Selection, now: float) -> int:
        """Make dead deliveries pending again with a fresh count of tries."""
        dead = self._dead(selection)
        for d in dead:
            d.status, d.attempts, d.available_at, d.completed_at = PENDING, 0, now, None
            d.created_at = now  # waiting afresh: its pending age starts now
            d.unlease()
        return len(dead)

    async def discard(self, selection: Selection) -> int:
        """Delete dead deliveries for good."""
        dead = self._dead(selection)
        for d in dead:
            del self._deliveries[d.id]
        return len(dead)

    async def stats(self, now: float) -> list[HandlerStats]:
        """Counts per handler, sorted by handler (completed deliveries are not counted)."""
        by_handler: dict[str, list[_Delivery]] = {}
        for d in self._deliveries.values():
            if d.status != DONE:
                by_handler.setdefault(d.handler, []).append(d)
        running_in: dict[str, int] = {}
        for names, until in self._dispatchers.values():
            for name in names if until >= now else ():
                running_in[name] = running_in.get(name, 0) + 1
        return [
            _stats(handler, by_handler[handler], now, running_in.get(handler, 0))
            for handler in sorted(by_handler)
        ]

    async def purge(self, done_before: float) -> int:
        """Delete deliveries completed before ``done_before`` and events nothing refers to."""
        old = [
            d
            for d in self._with(DONE)
            if d.completed_at is not None and d.completed_at < done_before
        ]
        for d in old:
            del self._deliveries[d.id]
        referred = {d.event_id for d in self._deliveries.values()}
        for event_id, envelope in list(self._events.items()):
            if event_id not in referred and envelope.time < done_before:
                del self._events[event_id]
        return len(old)

    def _find(self, ids: Iterable[int]) -> list[_Delivery]:
        return [self._deliveries[i] for i in dict.fromkeys(ids) if i in self._deliveries]

    def _with(self, status: str, handlers: Collection[str] | None = None) -> list[_Delivery]:
        return [
            d
            for d in self._deliveries.values()
            if d.status == status and (handlers is None or d.handler in handlers)
        ]

    def _dead(self, selection: Selection | None) -> list[_Delivery]:
        """Dead deliveries matching every criterion of ``selection``, by id."""
        return sorted((d for d in self._with(DEAD) if _chosen(d, selection)), key=lambda d: d.id)


def _chosen(delivery: _Delivery, selection: Selection | None) -> bool:
    """Whether ``selection`` picks ``delivery``: all its criteria hold (like the SQL store)."""
    if selection is None or selection.everything:
        return True
    return (
        (not selection.ids or delivery.id in selection.ids)
        and (not selection.handler or delivery.handler == selection.handler)
        and (not selection.event_type or delivery.event_type == selection.event_type)
    )


def _stats(handler: str, deliveries: list[_Delivery], now: float, dispatchers: int) -> HandlerStats:
    pending = [d for d in deliveries if d.status == PENDING]
    oldest = min((d.created_at for d in pending), default=None)
    return HandlerStats(
        handler,
        pending=len(pending),
        in_flight=sum(1 for d in deliveries if d.status == RUNNING),
        retrying=sum(1 for d in pending if d.attempts > 0),
        dead=sum(1 for d in deliveries if d.status == DEAD),
        oldest_pending_age=None if oldest is None else max(now - oldest, 0.0),
        dispatchers=dispatchers,
    )
