"""Extensions in the start sequence, on SQLite and PostgreSQL: each called at its point."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Column, Integer, insert

from dolmen import App, Extension, Module, ModuleTables
from dolmen.config import ConfigSection
from dolmen.persistence import Database

tables = ModuleTables("catalog")
products = tables.table("products", Column("id", Integer, primary_key=True))


class RecorderSettings(BaseModel):
    label: str = "default"


class Recorder(Extension):
    """Writes what it is told, and when, into a shared log."""

    def __init__(self, name: str, log: list[str], *, fail_start: bool = False) -> None:
        self.name, self.log, self.fail_start = name, log, fail_start

    def section(self) -> ConfigSection | None:
        if self.name != "a":
            return None
        return ConfigSection("recorder", RecorderSettings, "the recorder's settings")

    async def configure(self, app: App, settings: RecorderSettings | None) -> None:
        label = settings.label if settings else None
        self.log.append(f"{self.name}.configure started={app.started} label={label}")

    async def on_database(self, database: Database) -> None:
        async with database.engine.begin() as connection:  # the modules' tables exist
            await connection.execute(insert(products).values(id=len(self.log)))
        self.log.append(f"{self.name}.on_database")

    async def start(self) -> None:
        if self.fail_start:
            raise RuntimeError(f"{self.name} cannot start")
        self.log.append(f"{self.name}.start")

    async def stop(self) -> None:
        self.log.append(f"{self.name}.stop")
        if self.name == "b":
            raise RuntimeError("b fails to stop")  # logged; the others still stop


def modules(log: list[str]) -> list[Module]:
    return [
        Module(
            "catalog",
            tables=tables,
            on_startup=[lambda: log.append("catalog.on_startup")],
            on_shutdown=[lambda: log.append("catalog.on_shutdown")],
        )
    ]


async def test_extensions_are_called_at_their_points_of_the_start_sequence(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    config = {"app": {"database_url": database_url}, "recorder": {"label": "set"}}
    extensions = [Recorder("a", log), Recorder("b", log)]
    app = App("t", modules(log), extensions=extensions, config=config)
    with caplog.at_level(logging.ERROR, logger="dolmen.modules"):
        async with app.running():
            log.append("serving")
    assert log == [
        "a.configure started=False label=set",
        "b.configure started=False label=None",
        "a.on_database",
        "b.on_database",
        "catalog.on_startup",
        "a.start",
        "b.start",
        "serving",
        "b.stop",
        "a.stop",
        "catalog.on_shutdown",
    ]
    assert "extension Recorder failed to stop" in caplog.text
    assert not app.started


async def test_a_failing_start_stops_what_had_started_and_closes_the_database(
    database_url: str,
) -> None:
    log: list[str] = []
    extensions = [Recorder("a", log), Recorder("c", log, fail_start=True)]
    app = App(
        "t", modules(log), extensions=extensions, config={"app": {"database_url": database_url}}
    )
    with pytest.raises(RuntimeError, match="c cannot start"):
        await app.start()
    assert log[-4:] == ["catalog.on_startup", "a.start", "a.stop", "catalog.on_shutdown"]
    assert not app.started
    assert app.database is None


async def test_readiness_follows_the_app_through_the_health_probes(database_url: str) -> None:
    app = App("t", [Module("catalog")], config={"app": {"database_url": database_url}})
    transport = httpx.ASGITransport(app=app)

    async def ready() -> Any:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/readyz")
            return response.status_code, response.json().get("detail")

    assert await ready() == (503, "database unreachable: RuntimeError")
    async with app.running():
        assert await ready() == (200, None)
    assert await ready() == (503, "database unreachable: RuntimeError")


async def test_when_event_delivery_cannot_start_the_modules_stop_and_the_database_closes(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dolmen.modules._events import AppEvents

    async def refuse(self: AppEvents) -> None:
        raise ConnectionError("no listener")

    monkeypatch.setattr(AppEvents, "start", refuse)
    log: list[str] = []
    extensions = [Recorder("a", log)]
    config = {"app": {"database_url": database_url}}
    app = App("t", modules(log), extensions=extensions, config=config)
    with pytest.raises(ConnectionError, match="no listener"):
        await app.start()
    assert log[-2:] == ["catalog.on_startup", "catalog.on_shutdown"]  # a.start never ran
    assert not app.started
