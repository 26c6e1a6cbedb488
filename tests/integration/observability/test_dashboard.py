"""The dashboard's JSON API after real traffic, on SQLite and PostgreSQL: rates, error rates and
percentiles per route and module, the module graph, events with dead letters replayed and
discarded, traces, and the configuration with its secrets masked."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
import pytest
from fastapi import APIRouter

from dolmen import App, Event, EventPublisher, Inject, Module, on, provide
from dolmen.events import Retry
from dolmen.observability import Observability
from dolmen.observability._dashboard._dashboard import Dashboard


class OrderPlaced(Event, name="orders.OrderPlaced"):
    sku: str


class Stock(Protocol):
    async def reserve(self, sku: str) -> None: ...


class LocalStock:
    async def reserve(self, sku: str) -> None:
        if sku == "BOOM":
            raise RuntimeError("the stock is on fire")


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


@dataclass
class Carrier:
    down: bool = True
    shipped: list[str] = field(default_factory=list)


CARRIER = Carrier()


async def charge(event: OrderPlaced) -> None:
    return None


async def ship(event: OrderPlaced) -> None:
    if CARRIER.down:
        raise RuntimeError("the carrier is down")
    CARRIER.shipped.append(event.sku)


def make_app(
    database_url: str,
    *,
    environment: str = "dev",
    dashboard: Mapping[str, Any] | None = None,
    metrics: bool = True,
) -> App:
    stock = Module("stock", providers=[provide(Stock, LocalStock, public=True)])
    orders = Module("orders", depends_on=["stock"], providers=[provide(Orders)], routers=[router])
    billing = Module(
        "billing",
        listens_to=["orders"],
        handlers=[charge, on(OrderPlaced, ship, retry=Retry(attempts=1))],
    )
    config = {
        "app": {"database_url": database_url},
        "observability": {
            "log_format": "json",
            "outbox_sample_seconds": 3600,
            "metrics": metrics,
            # The test samples itself, with the times it chooses: the timer never ticks.
            "dashboard": {"sample_seconds": 3600, **(dashboard or {})},
        },
    }
    observability = Observability(stream=io.StringIO())
    return App(
        "shop",
        [stock, orders, billing],
        config=config,
        environment=environment,
        extensions=[observability],
    )


def dashboard_of(app: App) -> Dashboard:
    observability = app.extensions[0]
    assert isinstance(observability, Observability)
    assert observability.requests.dashboard is not None
    return observability.requests.dashboard


def client(app: App, address: str = "127.0.0.1", host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=f"http://{host}")


@pytest.fixture(autouse=True)
def carrier_down() -> None:
    CARRIER.down = True
    CARRIER.shipped.clear()


async def test_state_shows_rates_errors_and_percentiles_per_route_and_module(
    database_url: str,
) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        dashboard = dashboard_of(app)
        start = time.time() + 1000  # the app's first sample (at its start) is out of the window
        dashboard.sample(start)
        for sku in ("LAMP", "DESK", "LAMP"):
            assert (await http.post(f"/orders/{sku}")).status_code == 201
        assert (await http.post("/orders/BOOM")).status_code == 500
        await app.drain_events(within=30)
        dashboard.sample(start + 10)
        response = await http.get("/_dolmen/api/state", params={"minutes": 1})
    assert response.status_code == 200
    state = response.json()
    assert state["metrics"] is True
    assert state["window_seconds"] == pytest.approx(10)
    [line] = [r for r in state["routes"] if r["route"] == "/orders/{sku}"]
    assert line["module"] == "orders"
    assert line["method"] == "POST"
    assert line["requests"] == 4
    assert line["rate"] == pytest.approx(0.4)
    assert line["errors"] == 1
    assert line["error_ratio"] == pytest.approx(0.25)
    assert 0 < line["p50"] <= line["p95"] <= line["p99"] <= 10
    assert state["modules"]["orders"]["rate"] == pytest.approx(0.4)
    assert [point[1] for point in state["series"]["orders"]] == [pytest.approx(0.4)]
    edges = {(e["from"], e["to"], e["kind"]): e for e in state["graph"]["edges"]}
    assert edges["orders", "stock", "call"]["rate"] == pytest.approx(0.4)  # 4 calls in 10 s
    assert edges["orders", "stock", "call"]["declared"] is True
    event_edge = edges["orders", "billing", "event"]
    assert event_edge["events"] == ["orders.OrderPlaced", "orders.OrderPlaced"]
    assert event_edge["rate"] == pytest.approx(0.6)  # 3 events, 2 handlers each, in 10 s
    nodes = {node["name"]: node["level"] for node in state["graph"]["nodes"]}
    assert nodes == {"stock": 0, "orders": 1, "billing": 0}
    events = state["events"]
    assert events["totals"]["dead"] == 3
    assert {d["handler"] for d in events["dead_letters"]} == {"billing.ship"}
    rates = {(r["event_type"], r["handler"]): r for r in events["rates"]}
    assert rates["orders.OrderPlaced", "billing.ship"]["dead"] == pytest.approx(0.3)
    assert rates["orders.OrderPlaced", "billing.charge"]["handled"] == pytest.approx(0.3)
    traces = state["traces"]
    assert traces["available"] is True  # the app's own buffer
    assert traces["traces"][0]["error"] is True  # the 500 first, then the others
    assert traces["traces"][0]["root"] == "POST /orders/{sku}"
    assert len(traces["traces"]) >= 4
    assert state["can_act"] is True  # dev, on loopback


async def test_the_dashboard_requests_are_neither_counted_nor_logged(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        assert (await http.get("/_dolmen/")).status_code == 200
        assert (await http.get("/_dolmen/api/state")).status_code == 200
        metrics = (await http.get("/metrics")).text
    assert "_dolmen" not in metrics
    observability = app.extensions[0]
    assert isinstance(observability, Observability)
    assert isinstance(observability.stream, io.StringIO)
    access = [json.loads(line) for line in observability.stream.getvalue().splitlines()]
    assert not [line for line in access if line["logger"] == "dolmen.http"]  # no access line


async def test_the_page_and_its_files_are_served_with_no_outside_resource(
    database_url: str,
) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        redirect = await http.get("/_dolmen")
        page = await http.get("/_dolmen/")
        script = await http.get("/_dolmen/static/dashboard.js")
        style = await http.get("/_dolmen/static/dashboard.css")
        missing = await http.get("/_dolmen/static/../../pyproject.toml")
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "/_dolmen/"
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert 'content="loopback"' in page.text  # the CSRF header's value on loopback in dev
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "fetch(" in script.text
    assert "https://" not in script.text
    assert style.status_code == 200
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_the_path_is_configurable_and_the_dashboard_can_be_off(database_url: str) -> None:
    moved = make_app(database_url, dashboard={"path": "/ops/dashboard/"})
    async with moved.running(), client(moved) as http:
        assert (await http.get("/ops/dashboard/")).status_code == 200
        assert (await http.get("/_dolmen/")).status_code == 404
    off = make_app(database_url, dashboard={"enabled": False})
    async with off.running(), client(off) as http:
        assert (await http.get("/_dolmen/")).status_code == 404


async def test_with_metrics_off_the_dashboard_says_so(database_url: str) -> None:
    app = make_app(database_url, metrics=False)
    async with app.running(), client(app) as http:
        assert (await http.post("/orders/LAMP")).status_code == 201
        response = await http.get("/_dolmen/api/state")
    assert response.status_code == 200
    state = response.json()
    assert state["metrics"] is False
    assert state["routes"] == []
    assert {node["name"] for node in state["graph"]["nodes"]} == {"stock", "orders", "billing"}


async def test_the_configuration_is_shown_with_its_secrets_masked(database_url: str) -> None:
    app = make_app(database_url, dashboard={"token": "s3cret-token"})
    async with app.running(), client(app) as http:
        response = await http.get("/_dolmen/api/config")
    assert response.status_code == 200
    settings = {s["key"]: s for s in response.json()["settings"]}
    token = settings["observability.dashboard.token"]
    assert token["value"] == "********"
    assert token["secret"] is True
    assert "s3cret-token" not in response.text
    assert settings["observability.dashboard.path"]["value"] == "/_dolmen"


async def test_traces_are_listed_and_one_is_drawn_as_a_waterfall(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        assert (await http.get("/orders/LAMP")).status_code == 405  # a trace, not failed
        assert (await http.post("/orders/BOOM")).status_code == 500
        state = (await http.get("/_dolmen/api/state")).json()
        failed = state["traces"]["traces"][0]
        trace = await http.get(f"/_dolmen/api/traces/{failed['trace_id']}")
        unknown = await http.get(f"/_dolmen/api/traces/{'0' * 32}")
        bad = await http.get("/_dolmen/api/traces/%3Cscript%3E")
    assert state["traces"]["available"] is True
    assert failed["error"] is True  # the failed request's trace comes first
    assert failed["root"] == "POST /orders/{sku}"
    assert len(state["traces"]["traces"]) == 2
    spans = trace.json()["spans"]
    names = [s["name"] for s in spans]
    assert names == ["POST /orders/{sku}", "orders -> stock.Stock.reserve"]
    root, call = spans
    assert root["offset_ms"] == 0.0
    assert root["attributes"]["http.response.status_code"] == 500
    assert call["parent_id"] == root["span_id"]  # drawn below the request that made it
    assert call["error"] is True  # the reservation raised
    assert unknown.status_code == 404
    assert unknown.json()["status"] == 404
    assert bad.status_code == 404


async def test_a_dead_letter_is_replayed_from_the_dashboard(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        assert (await http.post("/orders/LAMP")).status_code == 201
        await app.drain_events(within=30)
        [letter] = (await http.get("/_dolmen/api/state")).json()["events"]["dead_letters"]
        CARRIER.down = False
        forged = await http.post(f"/_dolmen/api/dead-letters/{letter['id']}/replay")
        replayed = await http.post(
            f"/_dolmen/api/dead-letters/{letter['id']}/replay",
            headers={"X-Dolmen-CSRF": "loopback"},
        )
        await app.drain_events(within=30)
        after = (await http.get("/_dolmen/api/state")).json()["events"]
        again = await http.post(
            f"/_dolmen/api/dead-letters/{letter['id']}/replay",
            headers={"X-Dolmen-CSRF": "loopback"},
        )
    assert forged.status_code == 403  # no CSRF header: refused, nothing replayed
    assert forged.headers["content-type"] == "application/problem+json"
    assert replayed.status_code == 200
    assert replayed.json() == {"id": letter["id"], "replayed": 1}
    assert CARRIER.shipped == ["LAMP"]
    assert after["totals"]["dead"] == 0
    assert after["dead_letters"] == []
    assert again.status_code == 404
    assert "no dead letter" in again.json()["detail"]


async def test_a_dead_letter_is_discarded_from_the_dashboard(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as http:
        assert (await http.post("/orders/LAMP")).status_code == 201
        await app.drain_events(within=30)
        [letter] = await app.events.dead_letters()
        discarded = await http.post(
            f"/_dolmen/api/dead-letters/{letter.id}/discard",
            headers={"X-Dolmen-CSRF": "loopback"},
        )
        left = await app.events.dead_letters()
    assert discarded.status_code == 200
    assert discarded.json() == {"id": letter.id, "discarded": 1}
    assert left == []
    assert CARRIER.shipped == []
