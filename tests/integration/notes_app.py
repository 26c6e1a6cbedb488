"""A two-module app for integration tests: 'notes' publishes, 'audit' records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, HTTPException
from sqlalchemy import Column, Integer, String, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import registry

from dolmen import App, Event, EventPublisher, Inject, Module, ModuleTables, UnitOfWork, provide
from dolmen.events import Retry

notes_tables = ModuleTables("notes")
notes = notes_tables.table(
    "notes", Column("id", Integer, primary_key=True), Column("text", String(100), nullable=False)
)
audit_tables = ModuleTables("audit")
entries = audit_tables.table(
    "entries", Column("id", Integer, primary_key=True), Column("what", String(100))
)


class NoteAdded(Event, name="notes.NoteAdded"):
    text: str


class Notes:
    """The notes module's service."""

    def __init__(self, session: AsyncSession, events: EventPublisher) -> None:
        self.session = session
        self.events = events

    async def add(self, text: str) -> None:
        await self.session.execute(insert(notes).values(text=text))
        self.events.publish(NoteAdded(text=text))

    async def count(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(notes))).scalar_one()

    async def peek_at_audit(self) -> int:
        """Breaks the rules: reads another module's table."""
        result = await self.session.execute(select(func.count()).select_from(entries))
        return result.scalar_one()


class Audit:
    """The audit module's service."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, what: str) -> None:
        if what == "poison":
            raise ValueError("audit refuses poison")
        await self.session.execute(insert(entries).values(what=what))

    async def count(self) -> int:
        return (await self.session.execute(select(func.count()).select_from(entries))).scalar_one()


router = APIRouter()


@router.post("", status_code=201)
async def add_note(text: str, service: Annotated[Notes, Inject(Notes)]) -> dict[str, str]:
    await service.add(text)
    if text == "conflict":
        raise HTTPException(409, "refused after writing")
    if text == "crash":
        raise RuntimeError("secret internal detail")
    return {"text": text}


@router.post("/unlucky", status_code=201)
async def add_note_that_cannot_commit(
    service: Annotated[Notes, Inject(Notes)], uow: Annotated[UnitOfWork, Inject(UnitOfWork)]
) -> dict[str, str]:
    await service.add("unlucky")

    async def fail() -> None:
        raise RuntimeError("commit failed")

    uow.before_commit(fail)
    return {"text": "unlucky"}


@router.get("/count")
async def count_notes(service: Annotated[Notes, Inject(Notes)]) -> dict[str, int]:
    return {"count": await service.count()}


nosy_router = APIRouter()


@nosy_router.get("/peek")
async def peek_at_audit(audit: Annotated[Audit, Inject(Audit)]) -> int:
    """Asks for a service private to another module: refused when the App is built."""
    return await audit.count()


notes_module = Module(
    "notes",
    providers=[provide(Notes)],
    routers=[router],
    tables=notes_tables,
)
audit_module = Module(
    "audit",
    listens_to=["notes"],
    providers=[provide(Audit)],
    tables=audit_tables,
)


@audit_module.on(NoteAdded, retry=Retry(attempts=3, base=0.01, cap=0.02))
async def record_note(event: NoteAdded, audit: Audit) -> None:
    await audit.record(f"{event.text}")


def make_app(database_url: str, events: Mapping[str, object] | None = None) -> App:
    config: dict[str, object] = {"app": {"database_url": database_url}}
    if events is not None:
        config["events"] = events
    return App("notes", modules=[notes_module, audit_module], config=config)


class AuditEntry:
    """An ORM mapping of audit's table, to show the guard covers flushes too."""

    id: int
    what: str


registry().map_imperatively(AuditEntry, entries)


@router.get("/write-in-a-get")
async def write_in_a_get(service: Annotated[Notes, Inject(Notes)]) -> dict[str, str]:
    """Breaks HTTP's rule that GET is safe: refused by the read-only unit of work."""
    await service.add("from a GET")
    return {"text": "from a GET"}
