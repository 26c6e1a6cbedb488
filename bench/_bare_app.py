"""The baseline for bench/http_overhead.py: the shop's product lookup as a bare FastAPI app.

A typical FastAPI service, written without Dolmen: one SQLAlchemy 2 async engine on
aiosqlite, an ``AsyncSession`` per request through a ``Depends`` dependency, a Core
``select`` on ``catalog__products`` and a pydantic response model. It serves
``GET /catalog/products/{sku}`` with the same JSON body as the Dolmen shop (404 when the
SKU is unknown) and reads the same ``DOLMEN_DATABASE_URL``.

Serve it with ``uvicorn _bare_app:app --app-dir bench``; it creates no table, so point it
at a database the shop has already created and seeded.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import BigInteger, Column, MetaData, Numeric, String, Table, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

url = make_url(os.environ.get("DOLMEN_DATABASE_URL", "sqlite:///./var/shop.db"))
if url.drivername == "sqlite":
    url = url.set(drivername="sqlite+aiosqlite")

# The benchmark runs this app twice: with SQLAlchemy's default pool (5 + 10 overflow), as a
# typical app would, and with Dolmen's SQLite pool (BARE_POOL_SIZE / BARE_MAX_OVERFLOW).
engine = create_async_engine(
    url,
    pool_size=int(os.environ.get("BARE_POOL_SIZE", "5")),
    max_overflow=int(os.environ.get("BARE_MAX_OVERFLOW", "10")),
)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)

metadata = MetaData()
products = Table(
    "catalog__products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("price", Numeric(12, 2, asdecimal=True), nullable=False),
    Column("stock", BigInteger, nullable=False),
)


class ProductOut(BaseModel):
    sku: str
    name: str
    price: Decimal
    stock: int


async def get_session() -> AsyncIterator[AsyncSession]:
    async with SessionLocal() as session:
        yield session


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await engine.dispose()


app = FastAPI(title="bare", lifespan=lifespan)


@app.get("/catalog/products/{sku}", response_model=ProductOut)
async def get_product(
    sku: str, session: Annotated[AsyncSession, Depends(get_session)]
) -> ProductOut:
    row = (await session.execute(select(products).where(products.c.sku == sku))).first()
    if row is None:
        raise HTTPException(status_code=404, detail=f"no product with SKU {sku!r}")
    return ProductOut(
        sku=row.sku,
        name=row.name,
        price=row.price,
        stock=row.stock,
    )
