"""A one-module app for the HTTP safety nets: bodies to read, values a database may refuse.

Its routes validate nothing beyond the types, on purpose: what the database refuses must
still come back as a problem, never a 500.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Column, Integer, Numeric, String, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry

from dolmen import App, Inject, Module, ModuleTables, provide

tables = ModuleTables("items")
items = tables.table(
    "items",
    Column("sku", String(20), primary_key=True),
    Column("name", String(50), nullable=False, unique=True),
    Column("stock", Integer, nullable=False),
    Column("price", Numeric(10, 2), nullable=False),
)


class Item:
    """The ORM mapping of ``items``: an added Item is written when the unit of work commits."""

    def __init__(self, sku: str, name: str, stock: int, price: Decimal) -> None:
        self.sku = sku
        self.name = name
        self.stock = stock
        self.price = price


registry().map_imperatively(Item, items)


class NewItem(BaseModel):
    sku: str
    name: str
    stock: int = 0
    price: Decimal = Decimal("1.00")


class Items:
    """The module's service: writes at once (Core) or at commit (ORM)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_now(self, item: NewItem) -> None:
        await self.session.execute(insert(items).values(**item.model_dump()))

    def add_at_commit(self, item: NewItem) -> None:
        self.session.add(Item(**item.model_dump()))

    async def find(self, sku: str) -> dict[str, Any] | None:
        row = (await self.session.execute(select(items).where(items.c.sku == sku))).first()
        return None if row is None else {"sku": row.sku, "name": row.name}

    async def count(self) -> int:
        return len((await self.session.execute(select(items.c.sku))).all())


router = APIRouter()
ItemsDep = Annotated[Items, Inject(Items)]


@router.post("", status_code=201)
async def add_item(item: NewItem, service: ItemsDep) -> dict[str, str]:
    await service.add_now(item)
    return {"sku": item.sku}


@router.post("/at-commit", status_code=201)
async def add_item_at_commit(item: NewItem, service: ItemsDep) -> dict[str, str]:
    service.add_at_commit(item)
    return {"sku": item.sku}


@router.get("/count")
async def count_items(service: ItemsDep) -> dict[str, int]:
    return {"count": await service.count()}


@router.get("/{sku}")
async def get_item(sku: str, service: ItemsDep) -> dict[str, Any]:
    return await service.find(sku) or {}


@router.get("/{sku}/explode")
async def explode(sku: str, service: ItemsDep) -> dict[str, str]:
    raise RuntimeError(f"exploded on {sku}")


@router.post("/then-explode", status_code=201)
async def add_item_then_explode(item: NewItem, service: ItemsDep) -> dict[str, str]:
    await service.add_now(item)
    raise RuntimeError("exploded after writing")


@router.get("/stream/{count}")
async def stream_then_explode(count: int) -> StreamingResponse:
    """Sends ``count`` lines, then fails: the response has started when it does."""

    async def lines() -> AsyncIterator[bytes]:
        for number in range(count):
            yield f"line {number}\n".encode()
        raise RuntimeError("exploded while streaming")

    return StreamingResponse(lines(), media_type="text/plain")


@router.post("/measure")
async def measure(request: Request) -> dict[str, int]:
    """Reads the whole body, whatever it is, and says how long it was."""
    return {"bytes": len(await request.body())}


module = Module("items", providers=[provide(Items)], routers=[router], tables=tables)


def make_app(database_url: str, **app_settings: object) -> App:
    """The app on ``database_url``, with ``app_settings`` in its ``[app]`` section."""
    return App("stock", [module], config={"app": {"database_url": database_url, **app_settings}})
