"""Deliveries of one handler run together in one transaction: effects once, failures alone."""

from __future__ import annotations

import pytest

from dolmen import App

from .ledger_app import Behaviour, Ledger, make_app
from .test_durable_events import rows


async def deposit_together(app: App, *accounts: str) -> None:
    async with app.unit_of_work("ledger") as work:  # claimed together: run in batches
        ledger = await work.get(Ledger)
        for account in accounts:
            await ledger.deposit(account, 1)


async def test_a_handler_rolling_back_its_session_in_a_batch_undoes_only_its_own_delivery(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    behaviour = Behaviour(roll_back={"bob"})
    app = make_app(database_url, behaviour)
    async with app.running():
        await deposit_together(app, "ada", "bob", "cy")
        await app.drain_events(retries=True)
        for handler in ("count", "ordered"):
            counted = sorted(account for _, account, _ in await rows(app, handler))
            assert counted == ["ada", "cy"]  # once each; bob's handler undid its own write
        assert await app.events.dead_letters() == []
        assert app._started_events().dispatcher.failures == 0
    assert "ended the transaction of its batch" in caplog.text  # said, then run alone


async def test_deliveries_failing_before_they_write_leave_the_batch_running_once(
    database_url: str,
) -> None:
    behaviour = Behaviour(refuse={"bob", "dan"})
    app = make_app(database_url, behaviour)
    async with app.running():
        await deposit_together(app, "ada", "bob", "cy", "dan", "eve")
        await app.drain_events(retries=True)
        for handler in ("count", "ordered"):
            counted = sorted(account for _, account, _ in await rows(app, handler))
            assert counted == ["ada", "cy", "eve"]
        assert set(behaviour.tries.values()) == {1}  # nobody ran twice
        assert len(await app.events.dead_letters()) == 4
