"""``GET /metrics``: requests by route, module calls, events handled, failed and dead, and the
outbox gauges, in Prometheus's text format, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from typing import Annotated, Protocol

import httpx
from fastapi import APIRouter
from prometheus_client.parser import text_string_to_metric_families

from dolmen import App, Event, EventPublisher, Inject, Module, on, provide
from dolmen.events import Retry
from dolmen.observability import Observability


class OrderPlaced(Event, name="orders.OrderPlaced"):
    sku: str


class Stock(Protocol):
    async def reserve(self, sku: str) -> None: ...


class LocalStock:
    async def reserve(self, sku: str) -> None:
        return None


class Orders:
    def __init__(self, stock: Stock, events: EventPublisher) -> None:
        self.stock, self.events = stock, events

    async def place(self, sku: str) -> None:
        await self.stock.reserve(sku)
        self.events.publish(OrderPlaced(sku=sku))


router = APIRouter()


@router.post("/{sku}", status_code=201)
async def place(sku: str, orders: Annotated[Orders, Inject(Orders)]) -> dict[str, str]:
    await orders.place(sku)
    return {"sku": sku}


async def charge(event: OrderPlaced) -> None:
    return None


async def ship(event: OrderPlaced) -> None:
    raise RuntimeError("the carrier is down")


def make_app(database_url: str, *, dispatch: bool = True) -> App:
    stock = Module("stock", providers=[provide(Stock, LocalStock, public=True)])
    orders = Module("orders", depends_on=["stock"], providers=[provide(Orders)], routers=[router])
    billing = Module(
        "billing",
        listens_to=["orders"],
        handlers=[charge, on(OrderPlaced, ship, retry=Retry(attempts=1))],
    )
    config = {
        "app": {"database_url": database_url},
        "events": {"dispatch": dispatch},
        # The app samples the outbox when it starts; the test samples it again itself.
        "observability": {"log_format": "json", "outbox_sample_seconds": 3600},
    }
    observability = Observability(stream=io.StringIO())
    return App("shop", [stock, orders, billing], config=config, extensions=[observability])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_count_requests_calls_and_deliveries(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            for sku in ("LAMP", "DESK", "LAMP"):
                assert (await client.post(f"/orders/{sku}")).status_code == 201
            assert (await client.get("/no/such/route")).status_code == 404
            await app.drain_events(within=30)
            observability = app.extensions[0]
            assert isinstance(observability, Observability)
            await observability.sample_outbox()
            response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)

    placed = (("method", "POST"), ("module", "orders"), ("route", "/orders/{sku}"))
    assert found[("dolmen_http_requests_total", (*placed[:2], *placed[2:], ("status", "201")))] == 3
    unmatched = (("method", "GET"), ("module", ""), ("route", "<unmatched>"), ("status", "404"))
    assert found[("dolmen_http_requests_total", unmatched)] == 1
    duration = ("dolmen_http_request_duration_seconds_count", (*placed, ("status", "201")))
    assert found[duration] == 3
    call = (("callee", "stock"), ("caller", "orders"), ("method", "Stock.reserve"))
    assert found[("dolmen_module_calls_total", call)] == 3
    assert found[("dolmen_module_call_duration_seconds_count", call)] == 3
    charged = (("event_type", "orders.OrderPlaced"), ("handler", "billing.charge"))
    shipped = (("event_type", "orders.OrderPlaced"), ("handler", "billing.ship"))
    published = (("event_type", "orders.OrderPlaced"),)
    assert found[("dolmen_events_published_total", published)] == 3
    assert found[("dolmen_events_handled_total", charged)] == 3
    assert found[("dolmen_events_failed_total", shipped)] == 3
    assert found[("dolmen_events_dead_total", shipped)] == 3
    assert ("dolmen_events_retried_total", shipped) not in found
    assert found[("dolmen_events_dispatch_lag_seconds_count", charged)] == 3
    assert found[("dolmen_outbox_dead", (("handler", "billing.ship"),))] == 3
    assert not any(name == "dolmen_http_requests_total" and ("route", "/metrics") in labels
                   for name, labels in found)  # fmt: skip


async def test_the_outbox_gauges_are_sampled_not_queried_per_scrape(database_url: str) -> None:
    app = make_app(database_url, dispatch=False)  # nobody delivers: the events wait
    observability = app.extensions[0]
    assert isinstance(observability, Observability)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            assert (await client.post("/orders/LAMP")).status_code == 201
            assert (await client.post("/orders/DESK")).status_code == 201
            before = samples((await client.get("/metrics")).text)
            await observability.sample_outbox()
            after = samples((await client.get("/metrics")).text)
    charge = (("handler", "billing.charge"),)
    assert ("dolmen_outbox_pending", charge) not in before  # a scrape read no new numbers
    assert after[("dolmen_outbox_pending", charge)] == 2
    assert after[("dolmen_outbox_unhandled", charge)] == 2  # no running process delivers
    assert ("dolmen_outbox_oldest_pending_age_seconds", charge) in after  # sampled with the rest
