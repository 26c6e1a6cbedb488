"""The cross-module seam in a running app, on SQLite and PostgreSQL.

A placement that replaces another module's service builds nothing of it: no repository, no
session, no connection. A pass-through keeps the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import pytest
from sqlalchemy import Column, Integer, String, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen import App, CompositionError, Module, ModuleTables, provide
from dolmen.di import CrossModuleResolution, Interceptor, InterceptorRole, ModuleCall

Build = Callable[[], Awaitable[Any]]

stock_tables = ModuleTables("stock")
reservations = stock_tables.table(
    "reservations", Column("id", Integer, primary_key=True), Column("sku", String(50))
)
sales_tables = ModuleTables("sales")
sales = sales_tables.table(
    "sales", Column("id", Integer, primary_key=True), Column("sku", String(50))
)


class Stock(Protocol):
    """Module 'stock''s public contract."""

    async def reserve(self, sku: str) -> str: ...


class ReservationRepository:
    """Private to 'stock': counts how often it is built."""

    built = 0

    def __init__(self, session: AsyncSession) -> None:
        ReservationRepository.built += 1
        self.session = session

    async def add(self, sku: str) -> None:
        await self.session.execute(insert(reservations).values(sku=sku))


class LocalStock:
    def __init__(self, repository: ReservationRepository) -> None:
        self.repository = repository

    async def reserve(self, sku: str) -> str:
        await self.repository.add(sku)
        return f"reserved {sku} here"


class RemoteStock:
    """What a deployment that runs 'stock' elsewhere would hand out."""

    async def reserve(self, sku: str) -> str:
        return f"reserved {sku} over there"


class Sales:
    def __init__(self, stock: Stock, session: AsyncSession) -> None:
        self.stock, self.session = stock, session

    async def sell(self, sku: str) -> str:
        answer = await self.stock.reserve(sku)
        await self.session.execute(insert(sales).values(sku=sku))
        return answer


def make_app(database_url: str, *interceptors: Interceptor) -> App:
    stock = Module(
        "stock",
        providers=[provide(ReservationRepository), provide(Stock, LocalStock, public=True)],
        tables=stock_tables,
        package="tests.stock",
    )
    sales_module = Module(
        "sales",
        depends_on=["stock"],
        providers=[provide(Sales)],
        tables=sales_tables,
        package="tests.sales",
    )
    config = {"app": {"database_url": database_url}}
    return App("shop", [stock, sales_module], config=config, interceptors=interceptors)


async def counts(app: App) -> tuple[int, int]:
    async with app.unit_of_work("stock", write=False) as work:
        session = await work.get(AsyncSession)
        reserved = (await session.execute(select(func.count()).select_from(reservations))).scalar()
    async with app.unit_of_work("sales", write=False) as work:
        session = await work.get(AsyncSession)
        sold = (await session.execute(select(func.count()).select_from(sales))).scalar()
    return int(reserved or 0), int(sold or 0)


@pytest.fixture(autouse=True)
def _reset_count() -> None:
    ReservationRepository.built = 0


async def test_a_replacing_placement_opens_no_session_of_the_other_module(
    database_url: str,
) -> None:
    async def remote(resolution: CrossModuleResolution, build: Build) -> Any:
        return RemoteStock() if resolution.target == "stock" else await build()

    placement = Interceptor("placement", resolve=remote, role=InterceptorRole.PLACEMENT)
    app = make_app(database_url, placement)
    async with app.running(), app.unit_of_work("sales") as work:
        stock = await work.get(Stock)
        assert await stock.reserve("LAMP") == "reserved LAMP over there"
        assert ReservationRepository.built == 0
        assert not work.uow.touched_database  # not even sales' own session yet
    # Without the placement, the same call builds stock's repository and its session.
    local = make_app(database_url)
    async with local.running(), local.unit_of_work("sales") as work:
        await work.get(Stock)
        assert ReservationRepository.built == 1
        assert work.uow.touched_database


async def test_a_pass_through_keeps_the_callers_transaction(database_url: str) -> None:
    calls: list[str] = []

    async def traced(call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        calls.append(f"{call.caller} -> {call.target}.{call.method}")
        return await proceed()

    async def local(resolution: CrossModuleResolution, build: Build) -> Any:
        return await build()

    app = make_app(
        database_url,
        Interceptor("tracing", call=traced),
        Interceptor("placement", resolve=local, role=InterceptorRole.PLACEMENT),
    )
    async with app.running():
        async with app.unit_of_work("sales") as work:
            assert await (await work.get(Sales)).sell("LAMP") == "reserved LAMP here"
        with pytest.raises(RuntimeError, match="undo"):
            async with app.unit_of_work("sales") as work:
                await (await work.get(Sales)).sell("DESK")
                raise RuntimeError("undo the sale and its reservation")
        assert await counts(app) == (1, 1)
    assert calls == ["sales -> stock.reserve", "sales -> stock.reserve"]


def test_an_interceptor_declared_twice_stops_the_app_from_being_built(sqlite_url: str) -> None:
    async def traced(call: ModuleCall, proceed: Callable[[], Awaitable[Any]]) -> Any:
        return await proceed()

    tracing = Interceptor("tracing", call=traced)
    with pytest.raises(CompositionError, match="interceptor 'tracing' is declared twice"):
        make_app(sqlite_url, tracing, tracing)
