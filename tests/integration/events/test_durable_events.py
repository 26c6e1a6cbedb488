"""Durable events on SQLite and PostgreSQL: outbox, retries, dead letters, replay, order."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TypedDict

import pytest
from sqlalchemy import func, select, text

from dolmen import App, EventPublisher
from dolmen.events import OUTBOX_TABLES, Envelope, NewDelivery, OutboxError
from dolmen.events._envelope import new_event_id
from dolmen.persistence import UnitOfWork
from tests.waiting import within

from .ledger_app import Behaviour, Deposited, Ledger, Tally, make_app


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
async def app(database_url: str, behaviour: Behaviour) -> AsyncIterator[App]:
    app = make_app(database_url, behaviour, lease_seconds=2.0)
    async with app.running():
        yield app


async def deposit(app: App, account: str, amount: int = 1) -> None:
    async with app.unit_of_work("ledger") as work:
        await (await work.get(Ledger)).deposit(account, amount)


async def rows(app: App, handler: str) -> list[tuple[str, str, int]]:
    async with app.unit_of_work("tally", write=False) as work:
        tally: Tally = await work.get(Tally)
        return await tally.rows(handler)


deliveries = OUTBOX_TABLES.metadata.tables["dolmen.dolmen__deliveries"]


async def outbox_rows(app: App) -> int:
    assert app.database is not None
    async with app.database.engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(deliveries))
    return int(count or 0)


async def test_a_rollback_publishes_nothing(app: App, behaviour: Behaviour) -> None:
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with app.unit_of_work("ledger") as work:
            await (await work.get(Ledger)).deposit("ada", 5)
            raise RuntimeError("changed my mind")
    await app.drain_events()
    assert await outbox_rows(app) == 0
    assert not behaviour.tries


async def test_a_commit_delivers_each_event_to_every_handler_once(
    app: App, behaviour: Behaviour
) -> None:
    for account in ("ada", "bob", "cy"):
        await deposit(app, account)
    await app.drain_events()
    for handler in ("count", "ordered"):
        assert sorted(account for _, account, _ in await rows(app, handler)) == [
            "ada", "bob", "cy",
        ]  # fmt: skip
    assert sum(behaviour.tries.values()) == 6
    assert await outbox_rows(app) == 0  # completed deliveries are deleted by default


async def test_a_handler_failing_twice_then_succeeding_applies_its_effect_once(
    app: App, behaviour: Behaviour
) -> None:
    behaviour.fail_first["count:ada"] = 2
    await deposit(app, "ada", 7)
    await app.drain_events(retries=True)
    [(event_id, account, amount)] = await rows(app, "count")
    assert (account, amount) == ("ada", 7)
    assert behaviour.tries["count:ada"] == 3
    tries = [c for c in behaviour.contexts if c.handler == "tally.count_deposit"]
    assert [c.attempt for c in tries] == [1, 2, 3]
    assert {c.event_id for c in tries} == {event_id}  # the idempotency key never changes
    assert await rows(app, "ordered") == [(event_id, "ada", 7)]  # the other handler: once


async def test_deliveries_run_together_fail_retry_and_die_alone_with_their_effects_once(
    app: App, behaviour: Behaviour
) -> None:
    behaviour.fail_first["count:bob"] = 1  # its row is written, then it fails: undone alone
    behaviour.refuse.add("zed")
    async with app.unit_of_work("ledger") as work:  # claimed together: run in batches
        ledger = await work.get(Ledger)
        for account in ("ada", "bob", "cy", "zed", "dan"):
            await ledger.deposit(account, 1)
    await app.drain_events(retries=True)
    for handler in ("count", "ordered"):
        counted = sorted(account for _, account, _ in await rows(app, handler))
        assert counted == ["ada", "bob", "cy", "dan"]  # each once; zed's refusal wrote nothing
    assert behaviour.tries["count:bob"] == 2
    # Bob's failure after writing rolled back the batch's transaction: it ran again with a
    # savepoint per delivery, ada (before bob) once more, dan (after) once. Zed's refusal
    # wrote nothing: the other handler's batch went on without a second run.
    assert (behaviour.tries["count:ada"], behaviour.tries["count:dan"]) == (2, 1)
    assert behaviour.tries["ordered:ada"] == behaviour.tries["ordered:dan"] == 1
    dead = await app.events.dead_letters()
    assert sorted((d.handler, d.envelope.subject if d.envelope else None) for d in dead) == [
        ("tally.count_deposit", "zed"), ("tally.ordered_deposit", "zed"),
    ]  # fmt: skip


@pytest.mark.postgres
async def test_postgres_a_batch_waiting_for_a_lock_gives_way_and_its_deliveries_run_alone(
    postgres_url: str, behaviour: Behaviour
) -> None:
    app = make_app(postgres_url, behaviour)
    async with app.running():
        assert app.database is not None
        async with app.database.engine.connect() as locker:
            await locker.execute(text("LOCK TABLE tally.tally__applied IN EXCLUSIVE MODE"))
            async with app.unit_of_work("ledger") as work:  # claimed together: batches
                ledger = await work.get(Ledger)
                for account in ("ada", "bob", "cy"):
                    await ledger.deposit(account, 1)
            # Each handler's batch waits 50 ms for the lock, gives way; then each delivery
            # runs alone (and waits, as it always did, until the lock is released).
            assert await within(30.0, lambda: sum(behaviour.tries.values()) == 8)
            await locker.rollback()
        await app.drain_events()
        for handler in ("count", "ordered"):
            assert sorted(account for _, account, _ in await rows(app, handler)) == [
                "ada", "bob", "cy",
            ]  # fmt: skip
        assert behaviour.tries["count:ada"] == behaviour.tries["ordered:ada"] == 2
        assert {c.attempt for c in behaviour.contexts} == {1}  # giving way is not a failure
        assert await app.events.dead_letters() == []
        assert app._started_events().dispatcher.failures == 0


async def test_poison_events_go_dead_with_a_reason_and_the_dispatcher_goes_on(
    app: App, behaviour: Behaviour
) -> None:
    assert app.database is not None
    broken = Envelope(new_event_id(), "ledger.Deposited", 1, "/ledger/ledger", time.time(),
                      '{"amount": "lots"}', "ada")  # fmt: skip
    future = Envelope(new_event_id(), "ledger.Deposited", 9, "/ledger/ledger", time.time(),
                      '{"account": "ada", "amount": 1}', "ada")  # fmt: skip
    uow = UnitOfWork(app.database)
    await app._started_events().backend.outbox.append(uow, [broken, future], [
        NewDelivery(broken.id, "tally.count_deposit", broken.type, 4),
        NewDelivery(future.id, "tally.count_deposit", future.type, 4),
        NewDelivery(broken.id, "tally.retired_handler", broken.type, 4),
    ])  # fmt: skip
    await uow.commit()
    await deposit(app, "bob", 3)
    await app.drain_events()
    assert [account for _, account, _ in await rows(app, "count")] == ["bob"]
    dead = {
        (d.envelope.id if d.envelope else "", d.handler): d for d in await app.events.dead_letters()
    }
    assert len(dead) == 2
    assert (
        "does not validate as Deposited version 1" in dead[broken.id, "tally.count_deposit"].error
    )
    assert "version 9 is newer than this code's (1)" in dead[future.id, "tally.count_deposit"].error
    assert all(d.attempts == 1 for d in dead.values())  # poison is never retried
    [retired] = [s for s in await app.events.stats() if s.handler == "tally.retired_handler"]
    assert (retired.pending, retired.dead, retired.unhandled) == (1, 0, True)  # it waits


async def test_replay_delivers_a_dead_letter_again(app: App, behaviour: Behaviour) -> None:
    behaviour.refuse.add("zed")
    await deposit(app, "zed", 4)
    await app.drain_events()
    dead = await app.events.dead_letters()
    assert sorted(d.handler for d in dead) == ["tally.count_deposit", "tally.ordered_deposit"]
    assert all(d.attempts == 1 and "Refused: account zed is closed" in d.error for d in dead)
    behaviour.refuse.clear()
    assert await app.events.replay(handler="tally.count_deposit") == 1
    await app.drain_events()
    assert [account for _, account, _ in await rows(app, "count")] == ["zed"]
    assert await rows(app, "ordered") == []
    [still_dead] = await app.events.dead_letters()
    assert await app.events.discard(still_dead.id) == 1
    assert await app.events.dead_letters() == []


async def test_an_ordered_handler_gets_each_subject_in_publish_order(
    app: App, behaviour: Behaviour
) -> None:
    behaviour.fail_first["ordered:ada"] = 2
    for amount in (1, 2, 3):
        await deposit(app, "ada", amount)
        await deposit(app, "bob", amount)
    await app.drain_events(retries=True)
    ordered = await rows(app, "ordered")
    assert [amount for _, account, amount in ordered if account == "ada"] == [1, 2, 3]
    assert [amount for _, account, amount in ordered if account == "bob"] == [1, 2, 3]
    assert behaviour.tries["ordered:ada"] == 5  # 2 failures, then 3 in order


async def test_stats_say_where_each_handler_stands(app: App, behaviour: Behaviour) -> None:
    behaviour.refuse.add("zed")
    await deposit(app, "zed")
    await deposit(app, "ada")
    await app.drain_events()
    stats = {s.handler: s for s in await app.events.stats()}
    assert set(stats) == {"tally.count_deposit", "tally.ordered_deposit"}
    for line in stats.values():
        assert (line.pending, line.in_flight, line.retrying, line.dead) == (0, 0, 0, 1)
        assert line.oldest_pending_age is None


async def test_events_are_published_only_by_a_unit_of_work_that_writes(app: App) -> None:
    with pytest.raises(OutboxError, match="this one is read-only"):
        async with app.unit_of_work("ledger", write=False) as work:
            (await work.get(EventPublisher)).publish(Deposited(account="ada", amount=1))


async def test_a_crashed_workers_deliveries_come_back_when_their_lease_expires(
    database_url: str, behaviour: Behaviour
) -> None:
    app = make_app(database_url, behaviour, lease_seconds=2.0)  # looks for expired ones each 1 s
    async with app.running():
        dispatcher = app._started_events().dispatcher
        await dispatcher.stop()  # this process stops delivering for a moment
        await deposit(app, "ada", 2)
        handlers = ["tally.count_deposit", "tally.ordered_deposit"]
        crashed = await app.events.queue.claim("crashed-worker", handlers, 10, time.time(), 0.2)
        assert len(crashed) == 2  # both handlers' deliveries, now held by a dead process
        dispatcher.start()
        await app.drain_events(retries=True)  # until the lease ran out and they were run
        assert [account for _, account, _ in await rows(app, "count")] == ["ada"]
        attempts = [c.attempt for c in behaviour.contexts if c.handler == "tally.count_deposit"]
        assert attempts == [2]  # the crashed try counts


async def test_shutdown_gives_back_what_is_still_running(
    database_url: str, behaviour: Behaviour
) -> None:
    behaviour.seconds = 5.0
    app = make_app(database_url, behaviour, shutdown_grace_seconds=0.05)
    async with app.running():
        await deposit(app, "ada")
        for _ in range(3000):  # until both handlers are running (30 s at most)
            if len(behaviour.running) == 2:
                break
            await asyncio.sleep(0.01)
    behaviour.seconds = 0.0
    async with app.running():
        stats = {s.handler: s for s in await app.events.stats()}
        assert all(s.dead == 0 for s in stats.values())
        await app.drain_events()
        assert len(await rows(app, "count")) == 1
    first_tries = [c.attempt for c in behaviour.contexts if c.handler == "tally.count_deposit"]
    assert first_tries == [1, 1]  # the try cut short by the shutdown was not counted


@pytest.mark.postgres
async def test_two_dispatchers_on_one_database_never_run_a_delivery_at_the_same_time(
    postgres_url: str,
) -> None:
    first = Behaviour(seconds=0.002)
    second = Behaviour(seconds=0.002, running=first.running, overlaps=first.overlaps)
    one = make_app(postgres_url, first, batch_size=20)
    two = make_app(postgres_url, second, batch_size=20)
    async with one.running(), two.running():
        for start in range(0, 300, 50):
            async with one.unit_of_work("ledger") as work:
                ledger: Ledger = await work.get(Ledger)
                for number in range(start, start + 50):
                    await ledger.deposit(f"acct{number % 7}", number)
        await asyncio.gather(one.drain_events(retries=True), two.drain_events(retries=True))
        counted = await rows(one, "count")
        ordered = await rows(one, "ordered")
    assert first.overlaps == []
    assert len(counted) == len({event_id for event_id, _, _ in counted}) == 300
    assert len(ordered) == 300
    assert sum(first.tries.values()) > 0
    assert sum(second.tries.values()) > 0  # both took part
    assert sum(first.tries.values()) + sum(second.tries.values()) == 600
    for account in {account for _, account, _ in ordered}:
        amounts = [amount for _, a, amount in ordered if a == account]
        assert amounts == sorted(amounts)  # per-subject order held across both processes


class Polling(TypedDict):
    """How often a dispatcher looks at the outbox unprompted, and how long its leases last."""

    poll_min_seconds: float
    poll_max_seconds: float
    lease_seconds: float


QUIET = Polling(poll_min_seconds=60.0, poll_max_seconds=60.0, lease_seconds=300.0)
"""A worker's events settings: without a hint, it looks at the outbox a minute after its last
look (the lease's renewal, every 100 s, does not come sooner)."""


async def assert_woken_at_once(publisher: App, behaviour: Behaviour) -> None:
    """A QUIET worker handles deposits within 30 s: woken by NOTIFY, not by its next poll.

    The first deposit may come before the worker's first look; the second cannot.
    """
    before = sum(behaviour.tries.values())

    def tries() -> int:
        return sum(behaviour.tries.values()) - before

    await deposit(publisher, "ada")
    assert await within(30.0, lambda: tries() == 2)  # one try of each of its two handlers
    await deposit(publisher, "bob")  # (another subject: not held back behind ada's)
    assert await within(30.0, lambda: tries() == 4)


@pytest.mark.postgres
async def test_postgres_notify_wakes_the_dispatcher_of_another_process_at_once(
    postgres_url: str,
) -> None:
    publisher = make_app(postgres_url, Behaviour(), dispatch=False)
    behaviour = Behaviour()
    worker = make_app(postgres_url, behaviour, **QUIET)
    async with publisher.running(), worker.running():
        await assert_woken_at_once(publisher, behaviour)


@pytest.mark.postgres
async def test_postgres_an_outbox_created_without_the_notify_trigger_gets_it_at_start(
    postgres_url: str,
) -> None:
    publisher = make_app(postgres_url, Behaviour(), dispatch=False)
    async with publisher.running():
        assert publisher.database is not None
        async with publisher.database.engine.begin() as connection:  # as an older Dolmen left it
            await connection.execute(
                text("DROP TRIGGER dolmen__deliveries_notify ON dolmen.dolmen__deliveries")
            )
    behaviour = Behaviour()
    worker = make_app(postgres_url, behaviour, **QUIET)
    async with publisher.running(), worker.running():
        await assert_woken_at_once(publisher, behaviour)  # by NOTIFY from the new trigger


@pytest.mark.postgres
async def test_postgres_a_lost_listener_listens_again_and_notify_wakes_the_dispatcher(
    postgres_url: str,
) -> None:
    publisher = make_app(postgres_url, Behaviour(), dispatch=False)
    behaviour = Behaviour()
    worker = make_app(postgres_url, behaviour, **QUIET)
    async with publisher.running(), worker.running():
        dispatcher = worker._started_events().dispatcher
        assert dispatcher.hinted  # NOTIFY reaches it: no fast polling while events flow
        assert publisher.database is not None
        async with publisher.database.engine.connect() as connection:
            killed = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            )
        assert killed == 1
        assert await within(30.0, lambda: not dispatcher.hinted)  # polls as before meanwhile
        assert await within(30.0, lambda: dispatcher.hinted)  # it tries again after 1 s
        await assert_woken_at_once(publisher, behaviour)  # by NOTIFY on the new connection


async def test_an_idle_dispatcher_runs_a_retry_when_it_falls_due_not_at_its_next_poll(
    database_url: str, behaviour: Behaviour
) -> None:
    # It polls 30 s apart and renews leases every 20 s: a retry due within 0.02 s (FAST)
    # waiting for either would take 20 s or more; the test gives it 10.
    slow = Polling(poll_min_seconds=30.0, poll_max_seconds=30.0, lease_seconds=60.0)
    app = make_app(database_url, behaviour, **slow)
    behaviour.fail_first["count:ada"] = 1
    async with app.running():
        await deposit(app, "ada")
        assert await within(10.0, lambda: behaviour.tries["count:ada"] == 2)
    assert [c.attempt for c in behaviour.contexts if c.handler == "tally.count_deposit"] == [1, 2]


async def test_an_idle_dispatcher_runs_the_next_event_of_a_subject_once_the_one_before_is_done(
    database_url: str, behaviour: Behaviour
) -> None:
    app = make_app(database_url, behaviour, **QUIET)  # its next poll: a minute away
    async with app.running():
        async with app.unit_of_work("ledger") as work:
            ledger: Ledger = await work.get(Ledger)
            for amount in (1, 2, 3):
                await ledger.deposit("ada", amount)  # ordered_deposit: one at a time, in order
        for _ in range(3000):  # 30 s at most
            if len(applied := await rows(app, "ordered")) == 3:
                break
            await asyncio.sleep(0.01)
        assert [amount for _, _, amount in applied] == [1, 2, 3]


async def test_completed_deliveries_are_kept_for_the_retention_time_then_purged(
    database_url: str, behaviour: Behaviour
) -> None:
    app = make_app(database_url, behaviour, keep_completed_seconds=3600)
    async with app.running():
        await deposit(app, "ada")
        await app.drain_events()
        assert await outbox_rows(app) == 2  # kept, marked done
        assert await app.events.stats() == []  # done deliveries are not counted
        assert await app.events.queue.purge(time.time() - 60) == 0  # not old enough yet
        assert await app.events.queue.purge(time.time() + 1) == 2
        assert await outbox_rows(app) == 0


async def test_the_publishers_trace_context_travels_with_the_event(
    app: App, behaviour: Behaviour
) -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    context = trace.SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=trace.TraceFlags(1),
    )
    with trace.use_span(trace.NonRecordingSpan(context)):
        await deposit(app, "ada")
    await deposit(app, "bob")  # no span: no trace context
    await app.drain_events()
    parents = {c.subject: c.envelope.traceparent for c in behaviour.contexts}
    assert parents == {
        "ada": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "bob": None,
    }
