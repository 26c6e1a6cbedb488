"""The outbox in the application's database (SQLite or PostgreSQL), with SQLAlchemy Core."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ColumnElement

from dolmen.events import _pg_outbox, _sql_inbox, _sqlite_outbox
from dolmen.events._envelope import Envelope
from dolmen.events._outbox_table import (
    COMPLETE_DELETE,
    COMPLETE_KEEP,
    EXTEND,
    HELD,
    INSERT,
    IS_PENDING,
    IS_RUNNING,
    RELEASE,
    deliveries,
    delivery_rows,
    dispatchers,
    envelope_from,
    received,
)
from dolmen.events._records import (
    DEAD,
    DONE,
    LEASE_EXPIRED,
    PENDING,
    Claimed,
    DeadLetter,
    HandlerStats,
    NewDelivery,
    Selection,
)
from dolmen.persistence import Database

if TYPE_CHECKING:
    from dolmen.persistence import UnitOfWork

_c = deliveries.c
_FORGET_AFTER = 3600.0
"""Rows of dispatchers that stopped renewing this long ago are deleted (killed processes)."""


class SqlDeliveryStore:
    """The outbox and delivery queue in ``database``: table ``dolmen__deliveries``.

    One row per event and handler (the :class:`~dolmen.events.Outbox` and
    :class:`~dolmen.events.DeliveryQueue` ports). Claims take due rows oldest first under a
    lease; on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so dispatchers in several processes
    never take the same row; on SQLite in one short ``BEGIN IMMEDIATE`` transaction. Running
    dispatchers say which handlers they have in ``dolmen__dispatchers``. With
    ``keep_completed`` False a completed delivery is deleted at once, else marked done (see
    :meth:`purge`). The database's tables must include :data:`~dolmen.events.OUTBOX_TABLES`.
    """

    def __init__(self, database: Database, *, keep_completed: bool = False) -> None:
        self.database = database
        self.keep_completed = keep_completed
        self._postgres = not database.is_sqlite
        self._alone_engine: AsyncEngine | None = None

    async def append(
        self,
        uow: UnitOfWork | None,
        envelopes: Sequence[Envelope],
        new: Sequence[NewDelivery],
    ) -> None:
        """Insert the deliveries in ``uow``'s transaction (on SQLite: with its COMMIT).

        On PostgreSQL, when they are all ``uow`` writes (:attr:`UnitOfWork.empty`), the
        INSERT runs at once as a transaction of its own: its commit is the unit of work's.
        """
        if not new or not envelopes:
            return
        if uow is None:
            raise ValueError("the SQL outbox writes in the publishing unit of work only")
        rows = delivery_rows(envelopes, new)
        if self._postgres and uow.empty:
            # The events are all this unit of work writes: the INSERT alone is its
            # transaction, committed by itself (one round trip, without BEGIN and COMMIT;
            # several rows go in one atomic executemany), on the driver at its own cost.
            await self._append_alone(rows)
            return
        connection = await uow.connection()
        if self._postgres or uow.is_nested:  # (a savepoint may be rolled back: not deferred)
            await connection.execute(INSERT, rows)
        else:  # in the COMMIT's trip to the driver's thread
            await _sqlite_outbox.append_at_commit(connection, rows)

    async def _append_alone(self, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` in a transaction of their own, on asyncpg's connection.

        A statement the database refused (a subject too long for its column, say) is run
        again through SQLAlchemy, which raises its error as every other statement does.
        """
        try:
            async with self.database.driver() as driver:
                await _pg_outbox.append(driver, rows)
        except Exception as error:
            if not _pg_outbox.refused(error):
                raise
            async with self._alone().connect() as alone:
                await alone.execute(INSERT, rows)

    async def receive(
        self, envelopes: Sequence[Envelope], new: Sequence[NewDelivery], now: float
    ) -> int:
        """Write the deliveries not received before (see :meth:`Inbox.receive`)."""
        if self._postgres:
            return await _sql_inbox.receive(self.database, envelopes, new, now)
        if not new:
            return 0
        work = _sqlite_outbox.receive(envelopes, new, now)
        return await _sqlite_outbox.one_trip(self.database, work, "receive")

    async def forget_received(self, before: float) -> int:
        """Forget the events received before ``before`` (see :meth:`Inbox.forget_received`)."""
        return await self._write(delete(received).where(received.c.received_at < before))

    def _alone(self) -> AsyncEngine:
        """The engine for statements that each run in a transaction of their own.

        On PostgreSQL in autocommit mode: one round trip each, without BEGIN and COMMIT
        (a single statement is atomic by itself). On SQLite, reads without a transaction.
        """
        if self._alone_engine is None:
            engine = self.database.engine
            if self._postgres:
                engine = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._alone_engine = engine
        return self._alone_engine

    async def _write(self, statement: Any, values: dict[str, Any] | None = None) -> int:
        """Run one statement in a writing transaction of its own; the rows it changed."""
        if self._postgres:
            async with self._alone().connect() as connection:
                return int((await connection.execute(statement, values)).rowcount)
        async with self.database.write_engine.begin() as connection:
            return int((await connection.execute(statement, values)).rowcount)

    async def claim(
        self,
        owner: str,
        handlers: Collection[str],
        limit: int,
        now: float,
        lease: float,
        completed: Sequence[int] = (),
    ) -> list[Claimed]:
        """Take due deliveries of ``handlers`` (see :meth:`DeliveryQueue.claim`)."""
        values: dict[str, Any] = {"owner": owner, "limit": limit, "now": now, "until": now + lease}
        if not handlers:
            return await self._complete_only(completed, owner, now)
        if not self._postgres:  # one trip to the driver's thread, the write lock held briefly
            values["handlers"] = json.dumps(sorted(handlers))
            work = _sqlite_outbox.claim(values, completed, owner, now, self.keep_completed)
            claimed = await _sqlite_outbox.one_trip(self.database, work, "claim")
        else:  # the completions with the claim: one statement, one round trip
            values["handlers"] = list(handlers)
            async with self.database.driver() as driver:
                claimed = await _pg_outbox.claim(driver, values, completed, self.keep_completed)
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def _complete_only(
        self, completed: Sequence[int], owner: str, now: float
    ) -> list[Claimed]:
        await self.complete(completed, owner, now)
        return []

    async def complete(
        self, ids: Sequence[int], owner: str, now: float, uow: UnitOfWork | None = None
    ) -> int:
        """Mark deliveries done, in ``uow``'s transaction if given; returns how many."""
        if not ids:
            return 0
        statement = COMPLETE_KEEP if self.keep_completed else COMPLETE_DELETE
        values = {"ids": list(ids), "owner": owner, "now": now}
        if uow is not None:
            connection = await uow.connection()
            return int((await connection.execute(statement, values)).rowcount)
        if not self._postgres:
            work = _sqlite_outbox.complete(ids, owner, now, self.keep_completed)
            return await _sqlite_outbox.one_trip(self.database, work, "complete")
        return await self._write(statement, values)

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
        values: dict[str, Any] = {
            "status": PENDING if retry_at is not None else DEAD,
            "available_at": retry_at if retry_at is not None else now,
            "lease_owner": None,
            "lease_until": None,
            "last_error": error,
            "traceback": traceback,
        }
        if retry_at is None:
            values["completed_at"] = now  # when it died
        held = {"ids": [delivery], "owner": owner}
        return bool(await self._write(update(deliveries).where(HELD).values(**values), held))

    async def reap(self, now: float) -> int:
        last_try = _c.attempts >= _c.max_attempts
        statement = (
            update(deliveries)
            .where(IS_RUNNING, _c.lease_until < now)
            .values(
                status=case((last_try, DEAD), else_=PENDING),
                completed_at=case((last_try, now), else_=None),
                available_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=LEASE_EXPIRED,
                traceback=None,
            )
        )
        return await self._write(statement)

    async def extend(self, ids: Sequence[int], owner: str, until: float) -> None:
        if not ids:
            return
        await self._write(EXTEND, {"ids": list(ids), "owner": owner, "until": until})

    async def release(self, ids: Sequence[int], owner: str, now: float) -> None:
        if not ids:
            return
        await self._write(RELEASE, {"ids": list(ids), "owner": owner, "now": now})

    async def announce(self, owner: str, handlers: Collection[str], until: float) -> None:
        """Record (or renew) ``owner``'s handlers; rows of dispatchers long gone are removed."""
        row = dispatchers.c
        renew = update(dispatchers).where(row.owner == owner).values(until=until)
        if await self._write(renew):
            return
        await self._write(delete(dispatchers).where(row.until < until - _FORGET_AFTER))
        names = json.dumps(sorted(handlers))
        await self._write(insert(dispatchers).values(owner=owner, handlers=names, until=until))

    async def withdraw(self, owner: str) -> None:
        """Forget ``owner``'s handlers."""
        await self._write(delete(dispatchers).where(dispatchers.c.owner == owner))

    async def next_due(self, handlers: Collection[str] | None = None) -> float | None:
        """When the earliest pending delivery (of ``handlers``) becomes due."""
        query = select(func.min(_c.available_at)).where(IS_PENDING, *_of(handlers))
        async with self._alone().connect() as connection:
            value = await connection.scalar(query)
        return None if value is None else float(value)

    async def unsettled(
        self, due_by: float | None = None, handlers: Collection[str] | None = None
    ) -> int:
        """How many deliveries (of ``handlers``) are running or pending (due by ``due_by``)."""
        waiting = IS_PENDING if due_by is None else and_(IS_PENDING, _c.available_at <= due_by)
        query = (
            select(func.count())
            .select_from(deliveries)
            .where(or_(IS_RUNNING, waiting), *_of(handlers))
        )
        async with self._alone().connect() as connection:
            count = await connection.scalar(query)
        return int(count or 0)

    async def dead_letters(
        self, selection: Selection | None, limit: int | None
    ) -> list[DeadLetter]:
        query = select(deliveries).where(_c.status == DEAD, *_chosen(selection))
        async with self._alone().connect() as connection:
            rows = (await connection.execute(query.order_by(_c.id).limit(limit))).all()
        return [
            DeadLetter(
                id=row.id,
                handler=row.handler,
                event_type=row.event_type,
                attempts=row.attempts,
                error=row.last_error or "",
                traceback=row.traceback,
                failed_at=float(row.completed_at or row.available_at),
                envelope=envelope_from(row),
            )
            for row in rows
        ]

    async def replay(self, selection: Selection, now: float) -> int:
        statement = (
            update(deliveries)
            .where(_c.status == DEAD, *_chosen(selection))
            .values(
                status=PENDING,
                attempts=0,
                available_at=now,
                created_at=now,  # waiting afresh: its pending age starts now
                completed_at=None,
                lease_owner=None,
                lease_until=None,
            )
        )
        return await self._write(statement)

    async def discard(self, selection: Selection) -> int:
        statement = delete(deliveries).where(_c.status == DEAD, *_chosen(selection))
        return await self._write(statement)

    async def stats(self, now: float) -> list[HandlerStats]:
        def count(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0))

        query = (
            select(
                _c.handler,
                count(IS_PENDING),
                count(IS_RUNNING),
                count(and_(IS_PENDING, _c.attempts > 0)),
                count(_c.status == DEAD),
                func.min(case((IS_PENDING, _c.created_at), else_=None)),
            )
            .where(_c.status != DONE)
            .group_by(_c.handler)
            .order_by(_c.handler)
        )
        async with self._alone().connect() as connection:
            rows = (await connection.execute(query)).all()
        running_in = await self._running_in(now)
        return [
            HandlerStats(
                handler,
                int(pending or 0),
                int(running or 0),
                int(retrying or 0),
                int(dead or 0),
                None if oldest is None else max(now - float(oldest), 0.0),
                running_in.get(handler, 0),
            )
            for handler, pending, running, retrying, dead, oldest in rows
        ]

    async def _running_in(self, now: float) -> dict[str, int]:
        """Per handler, how many live dispatchers have it."""
        query = select(dispatchers.c.handlers).where(dispatchers.c.until >= now)
        try:
            async with self._alone().connect() as connection:
                lists = (await connection.scalars(query)).all()
        except DBAPIError:  # an outbox made by a Dolmen before the table: nobody announced
            return {}
        counts: dict[str, int] = {}
        for names in lists:
            for name in json.loads(names):
                counts[name] = counts.get(name, 0) + 1
        return counts

    async def purge(self, done_before: float) -> int:
        return await self._write(
            delete(deliveries).where(_c.status == DONE, _c.completed_at < done_before)
        )


def _of(handlers: Collection[str] | None) -> list[ColumnElement[bool]]:
    return [] if handlers is None else [_c.handler.in_(list(handlers))]


def _chosen(selection: Selection | None) -> list[ColumnElement[bool]]:
    if selection is None or selection.everything:
        return []
    conditions: list[ColumnElement[bool]] = []
    if selection.ids:
        conditions.append(_c.id.in_(selection.ids))
    if selection.handler:
        conditions.append(_c.handler == selection.handler)
    if selection.event_type:
        conditions.append(_c.event_type == selection.event_type)
    return conditions
