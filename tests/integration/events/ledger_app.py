"""An app for durable-event tests: 'ledger' publishes deposits, 'tally' handles them.

Handlers read what to do from ``Behaviour``, a plain object the test sets up: how many
times to fail before succeeding, which accounts to refuse for good, how long to take.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Column, Integer, String, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen import App, Event, EventPublisher, Module, ModuleTables, provide
from dolmen.events import DeliveryContext, EventBackend, Retry

ledger_tables = ModuleTables("ledger")
deposits = ledger_tables.table(
    "deposits",
    Column("id", Integer, primary_key=True),
    Column("account", String(50), nullable=False),
    Column("amount", Integer, nullable=False),
)
tally_tables = ModuleTables("tally")
applied = tally_tables.table(
    "applied",
    Column("id", Integer, primary_key=True),
    Column("handler", String(50), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("account", String(50), nullable=False),
    Column("amount", Integer, nullable=False),
)


class Deposited(Event, name="ledger.Deposited", subject="account"):
    account: str
    amount: int


@dataclass
class Gate:
    """Where one try of a handler waits, mid-run, until the test lets it go on."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self) -> None:
        self.reached.set()
        await self.opened.wait()


@dataclass
class Behaviour:
    """What the handlers do; tests change it."""

    fail_first: dict[str, int] = field(default_factory=dict)
    """``handler:account`` -> how many tries fail before one succeeds."""
    refuse: set[str] = field(default_factory=set)
    """Accounts whose deposits fail with a give-up error."""
    seconds: float = 0.0
    tries: Counter[str] = field(default_factory=Counter)
    running: set[str] = field(default_factory=set)
    """``handler:event id`` of the deliveries running now (shared by apps that compete)."""
    overlaps: list[str] = field(default_factory=list)
    contexts: list[DeliveryContext] = field(default_factory=list)
    roll_back: set[str] = field(default_factory=set)
    """Accounts whose deposit the handler writes, then rolls back on its session itself."""
    gates: dict[str, Gate] = field(default_factory=dict)
    """``handler:account:attempt`` -> where that try waits until the test opens the gate."""
    gate_after_writing: bool = False
    """Whether a gated try waits after its write (else before it)."""


class Refused(Exception):
    """A deposit tally will never accept."""


class Ledger:
    def __init__(self, session: AsyncSession, events: EventPublisher) -> None:
        self.session = session
        self.events = events

    async def deposit(self, account: str, amount: int) -> None:
        await self.session.execute(insert(deposits).values(account=account, amount=amount))
        self.events.publish(Deposited(account=account, amount=amount))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(deposits)) or 0)


class Tally:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, handler: str, event_id: str, event: Deposited) -> None:
        await self.session.execute(
            insert(applied).values(
                handler=handler, event_id=event_id, account=event.account, amount=event.amount
            )
        )

    async def rows(self, handler: str) -> list[tuple[str, str, int]]:
        result = await self.session.execute(
            select(applied.c.event_id, applied.c.account, applied.c.amount)
            .where(applied.c.handler == handler)
            .order_by(applied.c.id)
        )
        return [(row.event_id, row.account, row.amount) for row in result]


ledger = Module("ledger", providers=[provide(Ledger)], tables=ledger_tables)
FAST = Retry(attempts=4, base=0.01, cap=0.02, give_up_on=(Refused,))


def make_app(
    database_url: str,
    behaviour: Behaviour,
    *,
    event_backend: EventBackend | None = None,
    **events: object,
) -> App:
    """The ledger app on ``database_url``; ``events`` go to its ``[events]`` settings."""

    async def handle(
        handler: str, event: Deposited, context: DeliveryContext, tally: Tally
    ) -> None:
        behaviour.contexts.append(context)
        behaviour.tries[f"{handler}:{event.account}"] += 1
        delivery = f"{handler}:{context.event_id}"
        if delivery in behaviour.running:
            behaviour.overlaps.append(delivery)
        behaviour.running.add(delivery)
        try:
            if behaviour.seconds:
                await asyncio.sleep(behaviour.seconds)
            if event.account in behaviour.refuse:
                raise Refused(f"account {event.account} is closed")
            gate = behaviour.gates.get(f"{handler}:{event.account}:{context.attempt}")
            if gate is not None and not behaviour.gate_after_writing:
                await gate.wait()
            await tally.record(handler, context.event_id, event)  # rolled back if we fail below
            if gate is not None and behaviour.gate_after_writing:
                await gate.wait()
            if event.account in behaviour.roll_back:
                await tally.session.rollback()
            left = behaviour.fail_first.get(f"{handler}:{event.account}", 0)
            if left:
                behaviour.fail_first[f"{handler}:{event.account}"] = left - 1
                raise RuntimeError(f"tally is down ({left} more)")
        finally:
            behaviour.running.discard(delivery)

    module = Module("tally", listens_to=["ledger"], providers=[provide(Tally)], tables=tally_tables)

    @module.on(Deposited, retry=FAST)
    async def count_deposit(event: Deposited, context: DeliveryContext, tally: Tally) -> None:
        await handle("count", event, context, tally)

    @module.on(Deposited, retry=FAST, ordered=True)
    async def ordered_deposit(event: Deposited, context: DeliveryContext, tally: Tally) -> None:
        await handle("ordered", event, context, tally)

    return App(
        "ledger",
        modules=[ledger, module],
        config={"app": {"database_url": database_url}, "events": dict(events)},
        event_backend=event_backend,
    )
