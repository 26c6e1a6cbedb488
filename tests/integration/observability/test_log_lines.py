"""A request to a module route and the event it publishes log lines that say where they come
from (request id, module, event id, handler), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from typing import Annotated, Any

import httpx
from fastapi import APIRouter
from pydantic import SecretStr
from pydantic_settings import BaseSettings

from dolmen import App, Event, EventPublisher, Inject, Module, provide
from dolmen.events import DeliveryContext
from dolmen.observability import Observability


class Shipped(Event, name="shipping.Shipped", subject="order_id"):
    order_id: str


class ShippingSettings(BaseSettings):
    carrier_token: SecretStr = SecretStr("tok-7f3a9")


class Shipping:
    def __init__(self, events: EventPublisher, settings: ShippingSettings) -> None:
        self.events = events
        self.settings = settings

    def ship(self, order_id: str) -> None:
        token = self.settings.carrier_token.get_secret_value()
        logging.getLogger("shop.shipping").info("shipping %s with %s", order_id, token)
        self.events.publish(Shipped(order_id=order_id))


router = APIRouter()


@router.post("/{order_id}", status_code=202)
async def ship(order_id: str, shipping: Annotated[Shipping, Inject(Shipping)]) -> dict[str, str]:
    shipping.ship(order_id)
    return {"order_id": order_id}


async def close_order(event: Shipped, delivery: DeliveryContext) -> None:
    logging.getLogger("shop.orders").warning("closing %s", event.order_id)


def make_app(database_url: str, stream: io.StringIO) -> App:
    shipping = Module(
        "shipping",
        providers=[provide(Shipping)],
        routers=[router],
        settings=ShippingSettings,
    )
    orders = Module("orders", listens_to=["shipping"], handlers=[close_order])
    config = {"app": {"database_url": database_url}, "observability": {"log_format": "json"}}
    return App("t", [shipping, orders], config=config, extensions=[Observability(stream=stream)])


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_request_and_handler_lines_carry_their_context(database_url: str) -> None:
    stream = io.StringIO()
    app = make_app(database_url, stream)
    async with app.running():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/shipping/A-1", headers={"X-Request-ID": "req-1"})
        assert response.status_code == 202
        await app.drain_events(within=30)
    logged = lines(stream)

    [shipping] = [line for line in logged if line["logger"] == "shop.shipping"]
    assert shipping["message"] == "shipping A-1 with ********"  # a secret setting's value
    assert shipping["request_id"] == "req-1"
    assert shipping["module"] == "shipping"
    assert shipping["level"] == "info"

    [access] = [line for line in logged if line.get("route") == "/shipping/{order_id}"]
    assert access["logger"] == "dolmen.http"
    assert access["method"] == "POST"
    assert access["status"] == 202
    assert isinstance(access["duration_ms"], float)  # the figure itself: bench/http_overhead.py
    assert access["request_id"] == "req-1"
    assert access["module"] == "shipping"

    [handled] = [line for line in logged if line["logger"] == "shop.orders"]
    assert handled["message"] == "closing A-1"
    assert handled["module"] == "orders"
    assert handled["handler"] == "orders.close_order"
    assert handled["event_type"] == "shipping.Shipped"
    assert len(handled["event_id"]) > 0
    assert "request_id" not in handled

    started = [line for line in logged if line["message"].startswith("app t started")]
    assert started
    assert started[0]["logger"] == "dolmen.modules"
    assert started[0]["module"] is None
    assert all(line["time"].endswith("Z") for line in logged)
    assert "tok-7f3a9" not in stream.getvalue()


async def test_the_logging_set_up_is_put_back_when_the_app_stops(sqlite_url: str) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    stream = io.StringIO()
    app = make_app(sqlite_url, stream)
    async with app.running():
        [added] = set(root.handlers) - set(before)
        assert added.get_name() == "dolmen"
    assert set(root.handlers) == set(before)
    logging.getLogger("shop").warning("after the app stopped")
    assert "after the app stopped" not in stream.getvalue()


async def test_configure_logging_false_leaves_the_handlers_alone(sqlite_url: str) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    stream = io.StringIO()
    config = {
        "app": {"database_url": sqlite_url},
        "observability": {"configure_logging": False},
    }
    app = App("t", [Module("shipping")], config=config, extensions=[Observability(stream=stream)])
    async with app.running():
        assert set(root.handlers) == set(before)
        logging.getLogger("shop").warning("not through Dolmen")
    assert stream.getvalue() == ""
