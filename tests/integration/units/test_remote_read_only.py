"""An ``@idempotent`` method called from another unit runs read-only until it writes.

A read then runs in a read-only unit of work, which begins no transaction and commits
nothing; a method that writes (a "set to") is refused by its read-only unit of work, runs
again in a writing one, and runs writing from then on. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
from sqlalchemy import Column, Integer, String, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen import App, Module, ModuleTables, provide
from dolmen.persistence._guard import READ_ONLY_KEY
from dolmen.units import idempotent

SECRET = "a-test-secret-of-at-least-32-characters"
tables = ModuleTables("ledger")
balances = tables.table(
    "balances", Column("account", String(20), primary_key=True), Column("amount", Integer)
)


class Ledger(Protocol):
    """Module 'ledger''s public service."""

    @idempotent
    async def balance(self, account: str) -> int: ...

    @idempotent
    async def set_balance(self, account: str, amount: int) -> int: ...

    async def open_account(self, account: str) -> None: ...


class SqlLedger:
    runs: list[tuple[str, bool]] = []  # noqa: RUF012 (what ran, writing or not)

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def ran(self, method: str) -> None:
        self.runs.append((method, not self.session.info.get(READ_ONLY_KEY, False)))

    async def balance(self, account: str) -> int:
        self.ran("balance")
        query = select(balances.c.amount).where(balances.c.account == account)
        return int((await self.session.execute(query)).scalar_one())

    async def set_balance(self, account: str, amount: int) -> int:
        self.ran("set_balance")
        query = update(balances).where(balances.c.account == account).values(amount=amount)
        await self.session.execute(query)
        return amount

    async def open_account(self, account: str) -> None:
        self.ran("open_account")
        await self.session.execute(balances.insert().values(account=account, amount=0))


class Teller:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger


def make_app(current: str, database_url: str, transport: httpx.AsyncBaseTransport | None) -> App:
    from dolmen.units import RemoteCalls, Units

    def remote(topology: Any, settings: Any, app: Any) -> RemoteCalls:
        return RemoteCalls(topology, settings, app, transport=transport)

    modules = [
        Module("ledger", providers=[provide(Ledger, SqlLedger, public=True)], tables=tables),
        Module("teller", depends_on=["ledger"], providers=[provide(Teller)]),
    ]
    units = {
        "current": current,
        "secret": SECRET,
        "unit": {
            "back": {"modules": ["ledger"], "url": "http://back.test"},
            "front": {"modules": ["teller"]},
        },
    }
    config = {
        "app": {"database_url": database_url, "database_schema": "create"},
        "observability": {"configure_logging": False},
        "units": units,
    }
    return App(f"ledger-{current}", modules, config=config, extensions=[Units(remote=remote)])


@asynccontextmanager
async def split(database_url: str) -> AsyncIterator[Ledger]:
    """The ledger in unit 'back', as the teller in unit 'front' sees it."""
    back = make_app("back", database_url, None)
    async with back.running():
        front = make_app("front", database_url, httpx.ASGITransport(app=back))
        async with front.running(), front.unit_of_work("teller") as work:
            SqlLedger.runs = []
            yield (await work.get(Teller)).ledger


async def test_a_read_commits_nothing_and_a_set_to_write_runs_again_writing(
    database_url: str,
) -> None:
    async with split(database_url) as ledger:
        await ledger.open_account("ada")  # not idempotent: writing at once
        assert await ledger.balance("ada") == 0
        assert SqlLedger.runs == [("open_account", True), ("balance", False)]

        assert await ledger.set_balance("ada", 40) == 40
        assert SqlLedger.runs[2:] == [("set_balance", False), ("set_balance", True)]
        assert await ledger.balance("ada") == 40  # the write was committed

        assert await ledger.set_balance("ada", 50) == 50
        assert await ledger.balance("ada") == 50
        assert SqlLedger.runs[5:] == [("set_balance", True), ("balance", False)]
