"""The outbox table and the statements built on it once (SQLite and PostgreSQL alike).

:mod:`dolmen.events._sql_store` runs them through SQLAlchemy; on SQLite the hot ones also
run compiled, in one trip to the driver's thread (:mod:`dolmen.events._sqlite_outbox`).
"""

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
    all_,
    and_,
    any_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement

from dolmen.events._envelope import Envelope
from dolmen.events._records import DEAD, DONE, PENDING, RUNNING, Claimed, NewDelivery
from dolmen.persistence import ModuleTables

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
dispatchers = tables.table(
    "dispatchers",
    # Who runs which handlers now: one row per running dispatcher, renewed with its leases
    # (see DeliveryQueue.announce); a delivery of a handler no live row names is unhandled.
    Column("owner", String(100), primary_key=True),
    Column("handlers", Text, nullable=False),  # a JSON array of handler names
    Column("until", Double, nullable=False),
)
received = tables.table(
    "received",
    # The events taken in from another unit, per handler (see Inbox.receive): a redelivered
    # message finds its row and adds no delivery, even once that delivery is done and deleted.
    Column("event_id", String(36), primary_key=True),
    Column("handler", String(200), primary_key=True),
    Column("received_at", Double, nullable=False),
)
_c = deliveries.c
IS_PENDING = _c.status == PENDING
IS_RUNNING = _c.status == RUNNING
Index(  # what claim() scans: pending rows only, so its size is the backlog's
    "ix_dolmen__deliveries_due",
    _c.available_at,
    _c.id,
    postgresql_where=IS_PENDING,
    sqlite_where=IS_PENDING,
)
Index(  # what reap() scans
    "ix_dolmen__deliveries_leases",
    _c.lease_until,
    postgresql_where=IS_RUNNING,
    sqlite_where=IS_RUNNING,
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


def held(ids: Any) -> ColumnElement[bool]:
    """Deliveries among ``ids`` still running under ``owner``'s lease (both parameters).

    ``ids`` is an expanding list parameter, or on SQLite's fast path a subquery.
    """
    return and_(_c.id.in_(ids), _c.lease_owner == bindparam("owner"), IS_RUNNING)


def completion(held: ColumnElement[bool], keep: bool) -> Any:
    """Record ``held`` deliveries as done: deleted, or with ``keep`` marked done at ``now``."""
    if keep:
        return (
            update(deliveries)
            .where(held)
            .values(status=DONE, completed_at=bindparam("now"), lease_owner=None, lease_until=None)
        )
    return delete(deliveries).where(held)


INSERT = insert(deliveries)
"""New deliveries, their rows bound per call (building the statement costs more than binding)."""
HELD = held(bindparam("ids", expanding=True))
"""The statements below are built once, their parameters bound per call: building an ``IN``
of a few hundred ids costs more than running it."""
COMPLETE_DELETE = completion(HELD, keep=False)
COMPLETE_KEEP = completion(HELD, keep=True)
EXTEND = update(deliveries).where(HELD).values(lease_until=bindparam("until"))
RELEASE = (
    update(deliveries)
    .where(HELD)
    .values(
        status=PENDING,
        attempts=_c.attempts - 1,
        available_at=bindparam("now"),
        lease_owner=None,
        lease_until=None,
    )
)


CLAIMED = (
    _c.id, _c.handler, _c.attempts, _c.max_attempts, _c.event_id, _c.event_type,
    _c.event_version, _c.source, _c.subject, _c.published_at, _c.data, _c.traceparent,
)  # fmt: skip


CLAIM_COMMITS_ASYNCHRONOUSLY = (
    select(func.set_config("synchronous_commit", "off", True)).scalar_subquery() == "off"
)
"""PostgreSQL: the claim's own transaction commits without waiting for its WAL flush.

A condition evaluated once, before any row (a one-time filter), that sets
``synchronous_commit`` for this statement's transaction only (the connection keeps its own,
so the outbox appends it also runs stay durable at commit). The flush is a disk write on the
path from a publisher's commit to its handler (measured on a busy machine: 3.3 ms of a 3.7 ms
commit at the median). What a server crash can lose, the last claims (and the completions
recorded with them) of a fraction of a second, is what a claim that never happened leaves:
those deliveries run again, as they would after a worker's crash. A handler's effects commit
durably with its completion, and that flush also covers the claim written before it."""


def _claim_statement(postgres: bool, completing: Any = None) -> Any:
    """Take the due deliveries, oldest first: built once, its parameters bound per call.

    Only those of the claiming dispatcher's handlers (parameter ``handlers``: an
    array on PostgreSQL, a JSON array on SQLite's fast path). ``completing``: the ids of
    deliveries the same statement completes, which hold back no later one of their subject.
    """
    # An array on PostgreSQL (``= ANY``): an expanding IN would be rendered again on each claim.
    handlers: Any = (
        bindparam("handlers", type_=ARRAY(String))
        if postgres
        else select(literal_column("value")).select_from(func.json_each(bindparam("handlers")))
    )
    earlier = deliveries.alias("earlier")
    held_back = exists().where(
        earlier.c.handler == _c.handler,
        earlier.c.ordering_key == _c.ordering_key,
        earlier.c.id < _c.id,
        or_(earlier.c.status == PENDING, earlier.c.status == RUNNING),  # no expanding IN
        *([] if completing is None else [earlier.c.id != all_(completing)]),
    )
    candidates = (
        select(_c.id)
        .where(
            IS_PENDING,
            _c.available_at <= bindparam("now"),
            _c.handler == any_(handlers) if postgres else _c.handler.in_(handlers),
            or_(_c.ordering_key.is_(None), ~held_back),
        )
        .order_by(_c.available_at, _c.id)
        .limit(bindparam("limit"))
    )
    extra: list[ColumnElement[bool]] = []
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
        extra.append(CLAIM_COMMITS_ASYNCHRONOUSLY)
    else:
        chosen = candidates.scalar_subquery()
    return (
        update(deliveries)
        .where(_c.id.in_(chosen), *extra)
        .values(
            status=RUNNING,
            lease_owner=bindparam("owner"),
            lease_until=bindparam("until"),
            attempts=_c.attempts + 1,
        )
        .returning(*CLAIMED)
    )


def _claim_completing(keep: bool) -> Any:
    """PostgreSQL's claim recording the completions of the dispatcher's earlier runs too.

    ``completed`` is an array of ids: one statement, one round trip, one transaction.
    """
    ids = bindparam("completed", type_=ARRAY(BigInteger))
    held = and_(_c.id == any_(ids), _c.lease_owner == bindparam("owner"), IS_RUNNING)
    done = completion(held, keep).returning(_c.id).cte("done")
    return _claim_statement(postgres=True, completing=ids).add_cte(done)


CLAIM_SQLITE = _claim_statement(postgres=False)
CLAIM_POSTGRES = _claim_statement(postgres=True)
CLAIM_COMPLETING_POSTGRES = {keep: _claim_completing(keep) for keep in (False, True)}
"""The claim with the completions (PostgreSQL), deleting them or (``True``) keeping them."""


def claimed_from(row: Sequence[Any]) -> Claimed:
    """A row of the claim's ``RETURNING`` (the ``CLAIMED`` columns, in order)."""
    (id_, handler, attempts, max_attempts, event_id, event_type, version, source, subject,
     published_at, data, traceparent) = row  # fmt: skip
    envelope = Envelope(
        event_id, event_type, version, source, float(published_at), data, subject, traceparent
    )
    return Claimed(id_, handler, attempts, max_attempts, envelope)


def envelope_from(row: Any) -> Envelope:
    return Envelope(
        row.event_id, row.event_type, row.event_version, row.source, float(row.published_at),
        row.data, row.subject, row.traceparent,
    )  # fmt: skip


def unseen(new: Sequence[NewDelivery], seen: set[tuple[str, str]]) -> list[NewDelivery]:
    """The deliveries of ``new`` whose (event id, handler) is not in ``seen``, once each.

    ``seen`` grows by them.
    """
    fresh: list[NewDelivery] = []
    for delivery in new:
        key = (delivery.event_id, delivery.handler)
        if key not in seen:
            seen.add(key)
            fresh.append(delivery)
    return fresh


def received_marks(fresh: Sequence[NewDelivery], now: float) -> list[dict[str, Any]]:
    """The rows of ``dolmen__received`` that say ``fresh`` deliveries were taken in ``now``."""
    return [{"event_id": d.event_id, "handler": d.handler, "received_at": now} for d in fresh]


def delivery_rows(
    envelopes: Sequence[Envelope], new: Sequence[NewDelivery]
) -> list[dict[str, Any]]:
    """The rows of ``dolmen__deliveries`` for ``new`` deliveries of ``envelopes``, pending."""
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
    return rows
