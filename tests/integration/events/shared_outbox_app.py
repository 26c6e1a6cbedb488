"""Apps holding different modules on one database, as processes of one system deploy them.

'ledger' publishes deposits; 'audit' and 'tally' each handle them, writing each deposit to
their table ``seen``. ``make_app(url, ["audit"])`` is a process with ledger and audit: it has
the handler ``audit.note_deposit`` and not ``tally.count_deposit``.
"""

from __future__ import annotations

import functools

from sqlalchemy import Column, Integer, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen import App, Module, ModuleTables, provide
from dolmen.events import DeliveryContext

from .ledger_app import Deposited, ledger


@functools.cache
def seen(module: str) -> tuple[ModuleTables, Table]:
    """The tables of ``module`` and its table of the deposits it handled."""
    tables = ModuleTables(module)
    table = tables.table(
        "seen",
        Column("id", Integer, primary_key=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("account", String(50), nullable=False),
    )
    return tables, table


class Seen:
    """Writes the deposits one module handled to its table ``seen``."""

    table: Table

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event_id: str, account: str) -> None:
        await self.session.execute(insert(self.table).values(event_id=event_id, account=account))


class AuditSeen(Seen):
    table = seen("audit")[1]


class TallySeen(Seen):
    table = seen("tally")[1]


def handling_module(name: str) -> Module:
    """Module ``name`` whose handler writes each deposit to its table ``seen``."""
    service = {"audit": AuditSeen, "tally": TallySeen}[name]
    module = Module(name, listens_to=["ledger"], providers=[provide(service)], tables=seen(name)[0])

    if name == "audit":

        @module.on(Deposited)
        async def note_deposit(
            event: Deposited, context: DeliveryContext, store: AuditSeen
        ) -> None:
            await store.add(context.event_id, event.account)

    else:

        @module.on(Deposited)
        async def count_deposit(
            event: Deposited, context: DeliveryContext, store: TallySeen
        ) -> None:
            await store.add(context.event_id, event.account)

    return module


def make_app(database_url: str, modules: list[str], **events: object) -> App:
    """An app of ledger and ``modules`` ("audit", "tally") on ``database_url``."""
    return App(
        "ledger",
        modules=[ledger, *(handling_module(name) for name in modules)],
        config={"app": {"database_url": database_url}, "events": dict(events)},
    )


async def seen_accounts(app: App, module: str) -> list[str]:
    """The accounts of the deposits ``module``'s handler wrote, in the order it wrote them."""
    assert app.database is not None
    _, table = seen(module)
    async with app.database.engine.connect() as connection:
        rows = await connection.scalars(select(table.c.account).order_by(table.c.id))
        return list(rows)


async def count_seen(app: App, module: str) -> int:
    """How many deposits ``module``'s handler wrote."""
    assert app.database is not None
    _, table = seen(module)
    async with app.database.engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)
