"""An app with deployment units runs only its unit's modules here, and places the others."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import sqlalchemy
from fastapi import APIRouter
from sqlalchemy import Column, Integer
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dolmen import App, CompositionError, Event, Module, ModuleTables, provide
from dolmen.di import CrossModuleResolution, Interceptor, InterceptorRole
from dolmen.units import Topology, TopologyError, Units, UnitsSettings
from dolmen.units._remote import RemoteCalls

SECRET = "s" * 32


class Stock(Protocol):
    """Module 'stock''s public service."""

    async def reserve(self, sku: str) -> str: ...


class LocalStock:
    built = 0

    def __init__(self) -> None:
        LocalStock.built += 1

    async def reserve(self, sku: str) -> str:
        return f"{sku} reserved here"


class RemoteStock:
    async def reserve(self, sku: str) -> str:
        return f"{sku} reserved over there"


class Sales:
    def __init__(self, stock: Stock) -> None:
        self.stock = stock


class Sold(Event, name="sales.Sold"):
    sku: str


async def send_receipt(event: Sold) -> None:
    """Module 'mail''s handler."""


def router(name: str) -> APIRouter:
    routes = APIRouter()

    @routes.get("/ping", operation_id=f"{name}_ping")
    async def ping() -> dict[str, str]:
        return {"module": name}

    return routes


def tables(name: str) -> ModuleTables:
    declared = ModuleTables(name)
    declared.table("things", Column("id", Integer, primary_key=True))
    return declared


def make_app(started: list[str], units: dict[str, Any], *extensions: Any, url: str = "") -> App:
    def hook(name: str) -> Callable[[], None]:
        return lambda: started.append(name)

    modules = [
        Module(
            "stock",
            providers=[provide(Stock, LocalStock, public=True)],
            routers=[router("stock")],
            tables=tables("stock"),
            on_startup=[hook("stock")],
        ),
        Module(
            "sales",
            depends_on=["stock"],
            providers=[provide(Sales)],
            routers=[router("sales")],
            tables=tables("sales"),
            on_startup=[hook("sales")],
        ),
        Module(
            "mail",
            listens_to=["sales"],
            handlers=[send_receipt],
            routers=[router("mail")],
            tables=tables("mail"),
            on_startup=[hook("mail")],
        ),
    ]
    config: dict[str, Any] = {"units": units}
    if url:
        config["app"] = {"database_url": url}
    return App("t", modules, config=config, extensions=extensions)


SPLIT = {
    "unit": {
        "front": {"modules": ["stock", "sales"]},
        "mailer": {"modules": ["mail"]},
    }
}
"""Two units; no call crosses them (sales calls stock in its own unit)."""

CALLING = {
    "secret": SECRET,
    "unit": {
        "back": {"modules": ["stock"], "url": "http://back:8000"},
        "front": {"modules": ["sales", "mail"]},
    },
}
"""'sales' in unit 'front' calls 'stock' in unit 'back'."""


def paths(app: App) -> list[str]:
    return sorted(app.asgi().openapi()["paths"])


def units_of(app: App) -> Units:
    [units] = [e for e in app.extensions if isinstance(e, Units)]
    return units


def test_an_app_without_units_runs_every_module_here() -> None:
    app = make_app([], {})

    assert app.local_modules == app.modules  # every one, in dependency order
    assert paths(app) == ["/healthz", "/mail/ping", "/readyz", "/sales/ping", "/stock/ping"]
    assert units_of(app).remote is None


def test_units_declared_but_none_chosen_run_every_module_here() -> None:
    app = make_app([], SPLIT)

    assert app.local_modules == app.modules  # every one, in dependency order
    assert units_of(app).topology == Topology.of(UnitsSettings.model_validate(SPLIT), app.modules)


def test_a_chosen_unit_serves_only_its_modules_routes() -> None:
    app = make_app([], {**SPLIT, "current": "mailer"})

    assert [m.name for m in app.local_modules] == ["mail"]
    assert paths(app) == ["/healthz", "/mail/ping", "/readyz"]


async def test_a_chosen_unit_starts_only_its_modules_hooks_and_creates_only_their_tables(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    started: list[str] = []
    app = make_app(started, {**SPLIT, "current": "front"}, url=url)

    async with app.running():
        assert started == ["stock", "sales"]
        engine = sqlalchemy.create_engine(url)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
        finally:
            engine.dispose()
    assert {"stock__things", "sales__things"} <= tables
    assert "mail__things" not in tables


async def test_a_unit_of_work_of_a_module_elsewhere_is_refused(tmp_path: Path) -> None:
    app = make_app([], {**SPLIT, "current": "mailer"}, url=f"sqlite:///{tmp_path / 'a.db'}")

    async with app.running():
        with pytest.raises(CompositionError, match="module 'stock' does not run in this process"):
            async with app.unit_of_work("stock"):
                pass


def test_a_unit_the_topology_does_not_have_is_refused_with_the_units_it_has() -> None:
    app = make_app([], {**SPLIT, "current": "mailers"})

    with pytest.raises(TopologyError, match="current = 'mailers' is not a unit"):
        app.asgi()


async def test_the_unit_of_a_process_cannot_change_once_its_routes_are_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOLMEN__UNITS__CURRENT", "front")
    app = App(
        "t",
        make_app([], SPLIT).modules,
        config={"units": SPLIT, "app": {"database_url": f"sqlite:///{tmp_path / 'a.db'}"}},
    )
    app.asgi()
    monkeypatch.setenv("DOLMEN__UNITS__CURRENT", "mailer")

    with pytest.raises(CompositionError, match="cannot change once its routes are built"):
        await app.start()
    assert not app.started


class FakeRemote:
    """Remote calls that hand out a RemoteStock for the modules of other units."""

    def __init__(self, topology: Topology, settings: UnitsSettings, app: Any) -> None:
        self.topology, self.settings, self.app = topology, settings, app
        self.resolutions: list[CrossModuleResolution] = []
        self.events: list[str] = []

    def interceptor(self) -> Interceptor:
        return Interceptor("fake", resolve=self.place, role=InterceptorRole.PLACEMENT)

    async def place(
        self, resolution: CrossModuleResolution, build: Callable[[], Awaitable[Any]]
    ) -> Any:
        self.resolutions.append(resolution)
        if self.topology.is_local(resolution.target):
            return await build()
        return RemoteStock()

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        async def internal(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] == "/_dolmen/units/call":
                await JSONResponse({"called": "yes"})(scope, receive, send)
            else:
                await asgi(scope, receive, send)

        return internal

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {}

    def observe(self, observer: Any) -> None:
        pass

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


async def test_a_unit_calling_another_gets_its_services_through_remote_calls(
    tmp_path: Path,
) -> None:
    units = Units(remote=FakeRemote)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    app = make_app([], {**CALLING, "current": "front"}, units, url=url)
    LocalStock.built = 0

    async with app.running():
        remote = units.remote
        assert isinstance(remote, FakeRemote)
        assert remote.events == ["start"]
        assert remote.app is app
        async with app.unit_of_work("sales") as work:
            sales = await work.get(Sales)
            assert await sales.stock.reserve("KB") == "KB reserved over there"
        assert remote.resolutions == [CrossModuleResolution("sales", "stock", Stock)]
        assert LocalStock.built == 0  # nothing of 'stock' exists in this process
    assert remote.events == ["start", "stop"]
    assert {m.name for m in app.local_modules} == {"sales", "mail"}


async def test_a_unit_called_by_another_serves_the_remote_calls_endpoint() -> None:
    app = make_app([], {**CALLING, "current": "back"}, Units(remote=FakeRemote))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://back") as client:
        assert (await client.post("/_dolmen/units/call")).json() == {"called": "yes"}
        assert (await client.get("/sales/ping")).status_code == 404


def test_every_app_wires_dolmen_remote_calls_when_its_unit_calls_another() -> None:
    app = make_app([], {**CALLING, "current": "front"})
    app.asgi()

    units = units_of(app)
    assert isinstance(units.remote, RemoteCalls)
    assert units.remote.topology.current == "front"
    assert "dolmen.units" in [i.name for i in app.container.interceptors]


@pytest.mark.parametrize("current", [None, "mailer", "front"])
def test_no_remote_calls_when_no_call_crosses_the_units_of_this_process(
    current: str | None,
) -> None:
    app = make_app([], {**SPLIT, "current": current}, Units(remote=FakeRemote))
    app.asgi()

    assert units_of(app).remote is None


async def test_without_remote_calls_another_module_s_service_is_built_here(
    tmp_path: Path,
) -> None:
    app = make_app([], {**SPLIT, "current": "front"}, url=f"sqlite:///{tmp_path / 'a.db'}")
    LocalStock.built = 0

    async with app.running(), app.unit_of_work("sales") as work:
        sales = await work.get(Sales)
        assert await sales.stock.reserve("KB") == "KB reserved here"
    assert LocalStock.built == 1
