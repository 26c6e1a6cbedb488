"""The outbox in the application's database (SQLite or PostgreSQL), with SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement

from dolmen.events import _sqlite_outbox
from dolmen.events._envelope import Envelope
from dolmen.events._store import (
    DEAD,
    DONE,
    LEASE_EXPIRED,
    PENDING,
    RUNNING,
    Claimed,
    DeadLetter,
    DeliveryStore,
    HandlerStats,
    NewDelivery,
    Selection,
)
from dolmen.persistence import Database, ModuleTables

OUTBOX_MODULE = "dolmen"
"""The reserved module name owning the outbox tables (schema ``dolmen`` on PostgreSQL)."""

tables = ModuleTables(OUTBOX_MODULE)
deliveries = tables.table(
    "deliveries",
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("handler", String(200), nullable=False),
    Column("ordering_key", String(200)),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("available_at", Double, nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_until", Double),
    Column("created_at", Double, nullable=False),
    Column("completed_at", Double),
    Column("last_error", Text),
    Column("traceback", Text),
    # The event, one copy per handler (as Spring Modulith's publication registry keeps it):
    # a claim reads everything it needs from one row.
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("source", String(200), nullable=False),
    Column("subject", String(200)),
    Column("published_at", Double, nullable=False),
    Column("data", Text, nullable=False),
    Column("traceparent", String(64)),
)
_c = deliveries.c
_pending = _c.status == PENDING
_running = _c.status == RUNNING
Index(  # what claim() scans: pending rows only, so its size is the backlog's
    "ix_dolmen__deliveries_due",
    _c.available_at,
    _c.id,
    postgresql_where=_pending,
    sqlite_where=_pending,
)
Index(  # what reap() scans
    "ix_dolmen__deliveries_leases",
    _c.lease_until,
    postgresql_where=_running,
    sqlite_where=_running,
)
Index(  # the per-key order of ordered handlers
    "ix_dolmen__deliveries_ordering",
    _c.handler,
    _c.ordering_key,
    _c.id,
    postgresql_where=_c.ordering_key.is_not(None),
    sqlite_where=_c.ordering_key.is_not(None),
)
Index(  # dead letters, by handler (a partial index: the claim query never looks at them)
    "ix_dolmen__deliveries_dead",
    _c.handler,
    _c.id,
    postgresql_where=_c.status == DEAD,
    sqlite_where=_c.status == DEAD,
)


class SqlDeliveryStore(DeliveryStore):
    """The outbox table ``dolmen__deliveries`` of ``database``: one row per event and handler.

    Claims take due rows oldest first under a lease; on PostgreSQL with ``FOR UPDATE
    SKIP LOCKED``, so dispatchers in several processes never take the same row; on
    SQLite in one short ``BEGIN IMMEDIATE`` transaction. With ``keep_completed`` False
    a completed delivery is deleted at once, else marked done (see :meth:`purge`).
    """

    def __init__(self, database: Database, *, keep_completed: bool = False) -> None:
        self.database = database
        self.keep_completed = keep_completed
        self._postgres = not database.is_sqlite

    async def append(
        self,
        connection: AsyncConnection | None,
        envelopes: Sequence[Envelope],
        new: Sequence[NewDelivery],
    ) -> None:
        if not new or not envelopes:
            return
        if connection is None:
            raise ValueError("the SQL outbox writes in the publishing transaction only")
        by_id = {e.id: e for e in envelopes}
        rows = []
        for d in new:
            e = by_id[d.event_id]
            rows.append(
                {
                    "handler": d.handler,
                    "ordering_key": d.ordering_key,
                    "status": PENDING,
                    "attempts": 0,
                    "max_attempts": d.max_attempts,
                    "available_at": e.time,
                    "created_at": e.time,
                    "event_id": e.id,
                    "event_type": e.type,
                    "event_version": e.version,
                    "source": e.source,
                    "subject": e.subject,
                    "published_at": e.time,
                    "data": e.data,
                    "traceparent": e.traceparent,
                }
            )
        if self._postgres or not await _sqlite_outbox.append_at_commit(connection, rows):
            await connection.execute(insert(deliveries), rows)

    async def _write(self, statement: Any, values: dict[str, Any] | None = None) -> int:
        """Run one statement in a writing transaction of its own; the rows it changed."""
        async with self.database.write_engine.begin() as connection:
            return int((await connection.execute(statement, values)).rowcount)

    async def claim(
        self, owner: str, limit: int, now: float, lease: float, completed: Sequence[int] = ()
    ) -> list[Claimed]:
        statement = _CLAIM_POSTGRES if self._postgres else _CLAIM_SQLITE
        values = {"owner": owner, "limit": limit, "now": now, "until": now + lease}
        if not self._postgres:
            work = _sqlite_outbox.claim(values, completed, owner, now, self.keep_completed)
            taken = await _sqlite_outbox.one_trip(self.database, work)
            if taken is not None:
                return sorted(taken, key=lambda c: c.id)
        async with self.database.write_engine.begin() as connection:
            if completed:
                await self.complete(completed, owner, now, connection)
            rows = (await connection.execute(statement, values)).all()
        claimed = [Claimed(row.id, row.handler, row.attempts, row.max_attempts, _envelope(row))
                   for row in rows]  # fmt: skip
        claimed.sort(key=lambda c: c.id)
        return claimed

    async def complete(
        self,
        ids: Sequence[int],
        owner: str,
        now: float,
        connection: AsyncConnection | None = None,
    ) -> int:
        if not ids:
            return 0
        statement = _COMPLETE_KEEP if self.keep_completed else _COMPLETE_DELETE
        values = {"ids": list(ids), "owner": owner, "now": now}
        if connection is not None:
            return int((await connection.execute(statement, values)).rowcount)
        if not self._postgres:
            work = _sqlite_outbox.complete(ids, owner, now, self.keep_completed)
            changed = await _sqlite_outbox.one_trip(self.database, work)
            if changed is not None:
                return changed
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
        return bool(await self._write(update(deliveries).where(_HELD).values(**values), held))

    async def reap(self, now: float) -> int:
        last_try = _c.attempts >= _c.max_attempts
        statement = (
            update(deliveries)
            .where(_running, _c.lease_until < now)
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
        await self._write(_EXTEND, {"ids": list(ids), "owner": owner, "until": until})

    async def release(self, ids: Sequence[int], owner: str, now: float) -> None:
        if not ids:
            return
        await self._write(_RELEASE, {"ids": list(ids), "owner": owner, "now": now})

    async def next_due(self) -> float | None:
        async with self.database.engine.connect() as connection:
            value = await connection.scalar(select(func.min(_c.available_at)).where(_pending))
        return None if value is None else float(value)

    async def unsettled(self, due_by: float | None = None) -> int:
        waiting = _pending if due_by is None else and_(_pending, _c.available_at <= due_by)
        async with self.database.engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(deliveries).where(or_(_running, waiting))
            )
        return int(count or 0)

    async def dead_letters(
        self, selection: Selection | None, limit: int | None
    ) -> list[DeadLetter]:
        query = select(deliveries).where(_c.status == DEAD, *_chosen(selection))
        async with self.database.engine.connect() as connection:
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
                envelope=_envelope(row),
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
                count(_pending),
                count(_running),
                count(and_(_pending, _c.attempts > 0)),
                count(_c.status == DEAD),
                func.min(case((_pending, _c.created_at), else_=None)),
            )
            .where(_c.status != DONE)
            .group_by(_c.handler)
            .order_by(_c.handler)
        )
        async with self.database.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [
            HandlerStats(
                handler,
                int(pending or 0),
                int(running or 0),
                int(retrying or 0),
                int(dead or 0),
                None if oldest is None else max(now - float(oldest), 0.0),
            )
            for handler, pending, running, retrying, dead, oldest in rows
        ]

    async def purge(self, done_before: float) -> int:
        return await self._write(
            delete(deliveries).where(_c.status == DONE, _c.completed_at < done_before)
        )


_HELD = and_(
    _c.id.in_(bindparam("ids", expanding=True)), _c.lease_owner == bindparam("owner"), _running
)
"""Deliveries among ``ids`` still running under ``owner``'s lease. The statements below are
built once, their parameters bound per call: building an ``IN`` of a few hundred ids costs
more than running it."""
_COMPLETE_DELETE = delete(deliveries).where(_HELD)
_COMPLETE_KEEP = (
    update(deliveries)
    .where(_HELD)
    .values(status=DONE, completed_at=bindparam("now"), lease_owner=None, lease_until=None)
)
_EXTEND = update(deliveries).where(_HELD).values(lease_until=bindparam("until"))
_RELEASE = (
    update(deliveries)
    .where(_HELD)
    .values(
        status=PENDING,
        attempts=_c.attempts - 1,
        available_at=bindparam("now"),
        lease_owner=None,
        lease_until=None,
    )
)


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


_CLAIMED = (
    _c.id, _c.handler, _c.attempts, _c.max_attempts, _c.event_id, _c.event_type,
    _c.event_version, _c.source, _c.subject, _c.published_at, _c.data, _c.traceparent,
)  # fmt: skip


def _claim_statement(postgres: bool) -> Any:
    """Take the due deliveries, oldest first: built once, its parameters bound per call."""
    earlier = deliveries.alias("earlier")
    held_back = exists().where(
        earlier.c.handler == _c.handler,
        earlier.c.ordering_key == _c.ordering_key,
        earlier.c.id < _c.id,
        or_(earlier.c.status == PENDING, earlier.c.status == RUNNING),  # no expanding IN
    )
    candidates = (
        select(_c.id)
        .where(
            _pending,
            _c.available_at <= bindparam("now"),
            or_(_c.ordering_key.is_(None), ~held_back),
        )
        .order_by(_c.available_at, _c.id)
        .limit(bindparam("limit"))
    )
    if postgres:
        # Locked rows are skipped, so dispatchers never take the same one. The selection is
        # materialised: as a subquery of the UPDATE, PostgreSQL could evaluate it more than
        # once and take more than ``limit`` rows.
        due = (
            candidates.with_for_update(skip_locked=True, of=deliveries)
            .cte("due")
            .prefix_with("MATERIALIZED")
        )
        chosen: Any = select(due.c.id)
    else:
        chosen = candidates.scalar_subquery()
    return (
        update(deliveries)
        .where(_c.id.in_(chosen))
        .values(
            status=RUNNING,
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            attempts=_c.attempts + 1,
        )
        .returning(*_CLAIMED)
    )


_CLAIM_SQLITE = _claim_statement(postgres=False)
_CLAIM_POSTGRES = _claim_statement(postgres=True)


def _envelope(row: Any) -> Envelope:
    return Envelope(
        row.event_id, row.event_type, row.event_version, row.source, float(row.published_at),
        row.data, row.subject, row.traceparent,
    )  # fmt: skip
