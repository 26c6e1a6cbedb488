"""Calls across units, over ASGI in this process: the shop split into catalog and orders.

The catalog unit's app serves its internal endpoint; the orders unit's app reaches it through
``httpx.ASGITransport``, so these tests need no server (tests/integration has those).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from shop.catalog.api import (
    CatalogService,
    InsufficientStock,
    NewProduct,
    ProductView,
    ReservedLine,
    StockRequest,
    UnknownProduct,
)
from shop.catalog.domain.ports import ProductRepository

from dolmen import App
from dolmen.di import CrossModuleResolution
from dolmen.units import RemoteCallError, RemoteCalls
from dolmen.units._signing import signed_headers
from tests.units_calls import SECRET, unit_app

PATH = "/_units/call/catalog/CatalogService/reserve"


@pytest.fixture
async def callee(tmp_path: Path) -> AsyncIterator[App]:
    """The catalog unit, started, with two products."""
    app, _ = unit_app("catalog", f"sqlite:///{tmp_path / 'catalog.db'}")
    async with app.running():
        async with app.unit_of_work("catalog") as work:
            catalog = await work.get(CatalogService)
            await catalog.add_product(NewProduct(sku="LAMP", name="Lamp", price="35.00", stock=5))  # type: ignore[arg-type]
            await catalog.add_product(NewProduct(sku="DESK", name="Desk", price="120", stock=1))  # type: ignore[arg-type]
        yield app


@pytest.fixture
async def caller(tmp_path: Path, callee: App) -> AsyncIterator[App]:
    """The orders unit, started, reaching the catalog unit over ASGI."""
    app, _ = unit_app(
        "orders", f"sqlite:///{tmp_path / 'orders.db'}", transport=httpx.ASGITransport(callee)
    )
    async with app.running():
        yield app


async def catalog_of(app: App) -> CatalogService:
    async with app.unit_of_work("orders") as work:
        return await work.get(CatalogService)


async def stock_of(app: App, sku: str) -> int:
    async with app.unit_of_work("catalog") as work:
        return (await (await work.get(CatalogService)).get_product(sku)).stock


async def test_a_call_sends_models_and_returns_models(callee: App, caller: App) -> None:
    catalog = await catalog_of(caller)
    requests = (StockRequest(sku="LAMP", quantity=2), StockRequest(sku="DESK", quantity=1))

    reserved = await catalog.reserve(requests, "r-1")  # a tuple: any Sequence, as in one process

    assert reserved == [
        ReservedLine(sku="LAMP", quantity=2, unit_price=Decimal("35.00")),
        ReservedLine(sku="DESK", quantity=1, unit_price=Decimal("120.00")),
    ]
    assert await stock_of(callee, "LAMP") == 3  # committed in the catalog unit's database
    product = await catalog.get_product("LAMP")
    assert isinstance(product, ProductView)
    assert product.price == Decimal("35.00")


async def test_the_placement_hands_out_a_client_without_building_the_service(
    tmp_path: Path,
) -> None:
    _app, remote = unit_app("orders", f"sqlite:///{tmp_path / 'orders.db'}")
    interceptor = remote.interceptor()
    assert interceptor.resolve is not None

    async def build() -> Any:
        raise AssertionError("the catalog's service was built in the orders unit")

    client = await interceptor.resolve(
        CrossModuleResolution("orders", "catalog", CatalogService), build
    )

    assert "remote CatalogService of module 'catalog' in unit 'catalog'" in repr(client)
    assert client is remote.client("catalog", CatalogService)  # made once


async def test_a_local_module_s_service_is_built_here(tmp_path: Path) -> None:
    _app, remote = unit_app("catalog", f"sqlite:///{tmp_path / 'catalog.db'}")
    interceptor = remote.interceptor()
    assert interceptor.resolve is not None
    built = object()

    async def build() -> Any:
        return built

    resolution = CrossModuleResolution("orders", "catalog", CatalogService)
    assert await interceptor.resolve(resolution, build) is built


async def test_a_declared_error_is_raised_again_as_itself(callee: App, caller: App) -> None:
    catalog = await catalog_of(caller)

    with pytest.raises(UnknownProduct) as unknown:
        await catalog.get_product("NOPE")
    assert str(unknown.value) == str(UnknownProduct("NOPE"))
    assert unknown.value.sku == "NOPE"

    with pytest.raises(InsufficientStock) as insufficient:
        await catalog.reserve(
            [StockRequest(sku="LAMP", quantity=1), StockRequest(sku="DESK", quantity=2)],
            "r-2",
        )
    error = insufficient.value
    assert (error.sku, error.requested, error.available) == ("DESK", 2, 1)
    assert str(error) == str(InsufficientStock("DESK", 2, 1))
    assert "raised by module 'catalog' in unit 'catalog'" in error.__notes__[0]


async def test_a_failed_call_is_rolled_back_in_its_own_unit_of_work(
    callee: App, caller: App
) -> None:
    catalog = await catalog_of(caller)

    with pytest.raises(InsufficientStock):  # LAMP is taken first, then DESK fails
        await catalog.reserve(
            [StockRequest(sku="LAMP", quantity=1), StockRequest(sku="DESK", quantity=2)],
            "r-2",
        )

    assert await stock_of(callee, "LAMP") == 5


class BrokenRepository:
    async def get(self, sku: str) -> Any:
        raise RuntimeError("the disk is on fire")


async def test_an_undeclared_error_is_a_remote_call_error_with_the_problem_s_detail(
    callee: App, caller: App, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = await catalog_of(caller)

    with (
        callee.override(ProductRepository, BrokenRepository()),
        pytest.raises(RemoteCallError) as raised,
    ):
        await catalog.get_product("LAMP")

    assert raised.value.status == 500
    assert "unit 'catalog' answered the call catalog.CatalogService.get_product with 500" in str(
        raised.value
    )
    assert "request id" in str(raised.value)
    assert type(raised.value) is RemoteCallError
    assert any("the disk is on fire" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_arguments_are_validated_before_they_are_sent(caller: App) -> None:
    catalog = await catalog_of(caller)

    with pytest.raises(ValidationError):
        await catalog.reserve([{"sku": "not a sku!", "quantity": 1}], "r-1")  # type: ignore[list-item]
    with pytest.raises(TypeError):
        await catalog.get_product()  # type: ignore[call-arg]


def signed(
    body: bytes, path: str = PATH, secret: str = SECRET, now: float | None = None
) -> dict[str, str]:
    headers = signed_headers(secret.encode(), "POST", path, body, now=now)
    return {**headers, "content-type": "application/json"}


@pytest.fixture
async def internal(callee: App) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client of the catalog unit, to send it what no Dolmen caller would."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(callee), base_url="http://catalog.test"
    ) as client:
        yield client


GOOD = b'{"requests": [{"sku": "LAMP", "quantity": 1}], "reservation_id": "r-1"}'


@pytest.mark.parametrize(
    "headers",
    [
        lambda: {},
        lambda: signed(GOOD, now=0),
        lambda: signed(GOOD, secret="another-secret-of-at-least-32-characters"),
        lambda: signed(GOOD.replace(b"1}", b"5}")),
        lambda: signed(GOOD, path="/_units/call/catalog/CatalogService/release"),
    ],
    ids=["unsigned", "stale", "wrong secret", "tampered body", "other method"],
)
async def test_a_call_not_signed_right_is_refused_and_changes_nothing(
    internal: httpx.AsyncClient, callee: App, headers: Any
) -> None:
    response = await internal.post(PATH, content=GOOD, headers=headers())

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await stock_of(callee, "LAMP") == 5


async def test_a_signed_call_is_served(internal: httpx.AsyncClient, callee: App) -> None:
    response = await internal.post(PATH, content=GOOD, headers=signed(GOOD))

    assert response.status_code == 200
    assert response.json() == [{"sku": "LAMP", "quantity": 1, "unit_price": "35.00"}]
    assert await stock_of(callee, "LAMP") == 4


async def test_a_call_answers_with_the_caller_s_request_id(internal: httpx.AsyncClient) -> None:
    headers = {**signed(GOOD), "x-request-id": "req-9"}
    response = await internal.post(PATH, content=GOOD, headers=headers)

    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-9"
    refused = await internal.post(PATH, content=GOOD, headers={"x-request-id": "req-10"})
    assert refused.status_code == 401
    assert refused.headers["x-request-id"] == "req-10"


async def test_a_call_is_a_post(internal: httpx.AsyncClient, callee: App) -> None:
    response = await internal.get(PATH)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/problem+json"
    assert await stock_of(callee, "LAMP") == 5


async def test_a_replayed_call_is_refused(internal: httpx.AsyncClient, callee: App) -> None:
    headers = signed(GOOD)
    assert (await internal.post(PATH, content=GOOD, headers=headers)).status_code == 200

    replayed = await internal.post(PATH, content=GOOD, headers=headers)

    assert replayed.status_code == 401
    assert "replay" in replayed.json()["detail"]
    assert await stock_of(callee, "LAMP") == 4


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (PATH, b'{"requests": [', 422),
        (PATH, b'{"requests": "LAMP"}', 422),
        (PATH, b'{"requests": [{"sku": "LAMP", "quantity": -1}]}', 422),
        (PATH, b'{"requests": [], "more": 1}', 422),
        (PATH, b"[]", 422),
        (PATH, b"\xff\xfe", 422),
        ("/_units/call/catalog/CatalogService/drop_everything", GOOD, 404),
        ("/_units/call/catalog/ProductRepository/get", b'{"sku": "LAMP"}', 404),
        ("/_units/call/orders/OrderService/get", b'{"order_id": "x"}', 404),
        ("/_units/call/catalog/CatalogService", GOOD, 404),
        (PATH + "/more", GOOD, 404),
        (PATH, b'{"requests": [' + b'{"sku": "LAMP", "quantity": 1},' * 40_000 + b"]}", 413),
    ],
    ids=["truncated", "wrong type", "out of bounds", "unknown argument", "not an object",
         "not utf-8", "unknown method", "private service", "module of another unit",
         "no method", "too long a path", "huge"],
)  # fmt: skip
async def test_a_signed_but_hostile_call_gets_a_4xx_problem(
    internal: httpx.AsyncClient, callee: App, path: str, body: bytes, status: int
) -> None:
    response = await internal.post(path, content=body, headers=signed(body, path=path))

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
    assert await stock_of(callee, "LAMP") == 5


async def test_the_internal_endpoint_is_not_in_the_public_openapi(callee: App) -> None:
    paths = callee.asgi().openapi()["paths"]

    assert paths  # the modules' routes are there
    assert not [p for p in paths if p.startswith("/_units")]


async def test_a_unit_not_split_serves_no_internal_endpoint(tmp_path: Path) -> None:
    from dolmen.units import Topology, UnitsSettings
    from tests.units_calls import MODULES

    settings = UnitsSettings()
    app, _ = unit_app("orders", f"sqlite:///{tmp_path / 'o.db'}")
    remote = RemoteCalls(Topology.of(settings, MODULES), settings, app)

    asgi = app.asgi()
    assert remote.wrap_asgi(asgi) is asgi


def test_the_problem_of_a_declared_error_names_its_type() -> None:
    # What the callee sends: the module's type, its args and attributes, nothing else.
    from shop.catalog.module import module as catalog

    from dolmen.units._errors import DeclaredErrors

    errors = DeclaredErrors([catalog])
    wire = errors.encode(InsufficientStock("DESK", 2, 1), InsufficientStock)

    assert wire["type"] == "shop.catalog.domain.errors:InsufficientStock"
    assert json.loads(json.dumps(wire))["attributes"] == {
        "sku": "DESK",
        "requested": 2,
        "available": 1,
    }
    assert errors.decode({**wire, "type": "builtins:SystemExit"}) is None
