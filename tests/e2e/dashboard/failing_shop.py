"""The shop plus a ``shipping`` module whose handler fails while a flag file exists.

An order of a customer whose address starts with ``undeliverable-`` fails to ship while the
file ``carrier-down`` exists in the server's folder; its one try spent, the delivery is a real
dead letter. Once the file is gone, replaying it ships the order. Until the app records traces
of its own, the dashboard is given one failed trace to draw.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from shop.app import create_app
from shop.orders.api import OrderPlaced

from dolmen import App, Module, on
from dolmen.events import Retry

CARRIER_DOWN = Path("carrier-down")
"""Relative to the server's working folder: the test creates and removes it."""
UNDELIVERABLE = "undeliverable-"


async def ship_order(event: OrderPlaced) -> None:
    """Hand the order to the carrier, which is down for some customers while the flag exists."""
    if event.customer_email.startswith(UNDELIVERABLE) and await asyncio.to_thread(
        CARRIER_DOWN.exists
    ):
        raise RuntimeError("the carrier is down; remove carrier-down, then replay")


shipping = Module(
    "shipping",
    listens_to=["orders"],
    handlers=[on(OrderPlaced, ship_order, retry=Retry(attempts=1))],
)


@dataclass(frozen=True)
class Span:
    """A span as the traces' buffer gives it."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    module: str | None
    start_ns: int
    end_ns: int
    error: bool
    attributes: dict[str, str | int | float | bool]


@dataclass(frozen=True)
class Summary:
    """A trace summed up as the traces' buffer gives it."""

    trace_id: str
    root: str
    module: str | None
    start_ns: int
    duration_ns: int
    error: bool
    spans: int


class OneTrace:
    """Stands for the traces' buffer until the app has one of its own: one failed trace."""

    def __init__(self) -> None:
        start = time.time_ns()
        ms = 1_000_000
        self.spans = [
            Span("f" * 32, "a" * 16, None, "POST /orders", "server", "orders", start,
                 start + 9 * ms, True, {"http.response.status_code": 500}),
            Span("f" * 32, "b" * 16, "a" * 16, "orders -> catalog.CatalogService.reserve",
                 "internal", "orders", start + ms, start + 3 * ms, False, {}),
            Span("f" * 32, "c" * 16, "a" * 16, "publish orders.OrderPlaced", "producer",
                 "orders", start + 4 * ms, start + 5 * ms, True, {}),
        ]  # fmt: skip

    def summaries(self, limit: int = 50) -> list[Summary]:
        """The one trace."""
        first = self.spans[0]
        total = first.end_ns - first.start_ns
        summary = Summary(first.trace_id, first.name, "orders", first.start_ns, total, True, 3)
        return [summary][:limit]

    def trace(self, trace_id: str) -> list[Span]:
        """Its spans, or none."""
        return self.spans if trace_id == self.spans[0].trace_id else []


_shop = create_app()
app = App(
    "shop",
    modules=[*_shop.modules, shipping],
    config_dir=_shop.config_dir,
)
_observability = app.extensions[0]
if getattr(_observability, "traces", None) is None:
    _observability.traces = OneTrace()  # type: ignore[attr-defined]  # what the buffer offers
