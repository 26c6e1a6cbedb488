"""The demo's traffic (``dolmen demo --traffic``), driven step by step against the shop:
paid and declined orders, a notification retried and one dead, all in the dashboard's data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from shop.app import create_app
from shop.seed import seed_products
from shop.traffic import BOUNCING, DEMO_SETTINGS, GREYLISTED, Send, Traffic

from dolmen.observability import Observability


def in_process(client: httpx.AsyncClient) -> Send:
    async def send(method: str, path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        response = await client.request(method, path, json=body)
        return response.status_code, response.json() if response.content else None

    return send


async def test_the_traffic_shows_every_kind_of_request_and_delivery(database_url: str) -> None:
    config = {
        "app": {"database_url": database_url},
        "observability": {"configure_logging": False},
        **DEMO_SETTINGS,
    }
    app = create_app(config=config)
    async with app.running():
        await seed_products(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            traffic = Traffic(in_process(client), seed=7)
            for _ in range(40):
                await traffic.step()
                await app.drain_events(within=30)
            await app.drain_events(within=30, retries=True)
            declined = [
                (await client.get(f"/orders/{order}")).json()["status"] for order in traffic.orders
            ]
            greylisted = await client.get("/notifications", params={"email": GREYLISTED})
            bounced = await client.get("/notifications", params={"email": BOUNCING})
        stats = {s.handler: s for s in await app.events.stats()}
        dead = await app.events.dead_letters()

    assert {"product added", "order placed", "order declined", "order read", "missing product",
            "invalid order", "order, notification retried", "order, notification dead",
            "product looked up", "notifications read"} <= set(traffic.counts)  # fmt: skip
    assert {200, 201, 404, 422} <= set(traffic.statuses)
    assert "paid" in declined
    assert "payment_failed" in declined  # the monitor costs more than the charge limit
    assert greylisted.json(), "the greylisted customer's notification went out on its retry"
    assert bounced.json() == []
    assert stats["notifications.notify_order_paid"].dead >= 1
    assert {d.handler for d in dead} == {"notifications.notify_order_paid"}
    observability = app.extensions[0]
    assert isinstance(observability, Observability)
    assert observability.traces is not None
    summaries = observability.traces.summaries()
    assert summaries[0].error  # the failed traces first: the dead notification's
    assert any(s.root == "POST /orders" for s in summaries)


async def test_run_takes_a_step_per_interval_until_told_to_stop() -> None:
    calls: list[tuple[str, str]] = []
    waits: list[float] = []

    async def send(method: str, path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        calls.append((method, path))
        if len(calls) == 2:
            raise ConnectionRefusedError("the shop is stopping")
        return 201, {"id": f"order-{len(calls)}"}

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    traffic = Traffic(send, seed=1)
    await traffic.run(interval=0.25, sleep=sleep, until=lambda: len(waits) >= 5)
    assert len(calls) == 5
    assert waits == [0.25] * 5
    assert traffic.counts["failed: ConnectionRefusedError"] == 1
