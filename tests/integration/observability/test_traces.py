"""Traces: a paid order in the shop is one trace, from the request through every handler;
a provider the user installed is used; sampling drops exports, never failed or slow traces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from shop.app import create_app

from dolmen import App
from dolmen.observability import Observability


@pytest.fixture
def no_tracer_provider() -> Iterator[None]:
    """A process with no global tracer provider set, before and after the test."""

    def reset() -> None:  # OpenTelemetry's own tests reset these globals the same way
        trace._TRACER_PROVIDER_SET_ONCE = Once()
        trace._TRACER_PROVIDER = None

    reset()
    yield
    reset()


def shop(
    database_url: str, notifications: Any = None, **observability: Any
) -> tuple[App, Observability]:
    settings = {"configure_logging": False, **observability}
    config = {"app": {"database_url": database_url}, "observability": settings}
    app = create_app(config={**config, "notifications": notifications or {}})
    extension = app.extensions[0]  # every app has one, first
    assert isinstance(extension, Observability)
    return app, extension


async def pay_one_order(
    app: App, client: httpx.AsyncClient, price: str = "20.00", email: str = "ada@example.com"
) -> str:
    product = {"sku": "LAMP", "name": "Lamp", "price": price, "stock": 5}
    assert (await client.post("/catalog/products", json=product)).status_code == 201
    order = {"customer_email": email, "items": [{"sku": "LAMP", "quantity": 1}]}
    placed = await client.post("/orders", json=order)
    assert placed.status_code == 201, placed.text
    await app.drain_events(within=30)
    return str(placed.json()["id"])


def client_of(app: App) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s")


async def test_a_paid_order_is_one_trace_from_the_request_to_the_notification(
    database_url: str, no_tracer_provider: None
) -> None:
    app, observability = shop(database_url)
    exported = InMemorySpanExporter()
    async with app.running():
        trace.get_tracer_provider().add_span_processor(  # type: ignore[attr-defined]
            SimpleSpanProcessor(exported)
        )
        async with client_of(app) as client:
            await pay_one_order(app, client)
    buffer = observability.traces
    assert buffer is not None
    placing = next(s for s in buffer.summaries() if s.root == "POST /orders")
    spans = buffer.trace(placing.trace_id)
    names = [s.name for s in spans]
    assert names[0] == "POST /orders"
    for expected in (
        "orders -> catalog.CatalogService.reserve",
        "publish orders.OrderPlaced",
        "orders.OrderPlaced -> billing.charge_order",
        "publish billing.PaymentCaptured",
        "billing.PaymentCaptured -> orders.mark_order_paid",
        "billing.PaymentCaptured -> notifications.notify_order_paid",
    ):
        assert expected in names, names
    by_id = {s.span_id: s for s in spans}
    for span in spans[1:]:
        assert span.parent_id in by_id, f"{span.name} is not linked into the trace"
    server = spans[0]
    assert server.kind == "server"
    assert server.module == "orders"
    assert server.attributes["http.route"] == "/orders"
    assert server.attributes["http.response.status_code"] == 201
    kinds = {s.name: s.kind for s in spans}
    assert kinds["publish orders.OrderPlaced"] == "producer"
    assert kinds["orders.OrderPlaced -> billing.charge_order"] == "consumer"
    # the exporter got the same spans as the SDK's ReadableSpans, in the one trace
    finished = [s for s in exported.get_finished_spans() if s.context is not None]
    in_trace = {s.name for s in finished if f"{s.context.trace_id:032x}" == placing.trace_id}
    assert set(names) <= in_trace


async def test_a_tracer_provider_of_the_user_is_used_not_replaced(
    database_url: str, no_tracer_provider: None
) -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    trace.set_tracer_provider(provider)
    app, observability = shop(database_url)
    async with app.running(), client_of(app) as client:
        await pay_one_order(app, client)
    assert trace.get_tracer_provider() is provider
    names = {s.name for s in exported.get_finished_spans()}
    assert {"POST /orders", "orders -> catalog.CatalogService.reserve"} <= names
    assert "orders.OrderPlaced -> billing.charge_order" in names
    assert observability.traces is not None  # the buffer reads the user's SDK provider too
    assert any(s.root == "POST /orders" for s in observability.traces.summaries())


async def test_a_zero_ratio_exports_nothing_but_keeps_failed_and_slowest_traces(
    database_url: str, no_tracer_provider: None
) -> None:
    app, observability = shop(
        database_url,
        trace_sample_ratio=0.0,
        notifications={"bouncing_domains": ["bounce.example"]},  # its handler fails for good
    )
    exported = InMemorySpanExporter()
    async with app.running():
        trace.get_tracer_provider().add_span_processor(  # type: ignore[attr-defined]
            SimpleSpanProcessor(exported)
        )
        async with client_of(app) as client:
            await pay_one_order(app, client, email="edsger@bounce.example")
            assert (await client.post("/orders", content=b"{")).status_code == 422
    assert exported.get_finished_spans() == ()
    buffer = observability.traces
    assert buffer is not None
    summaries = buffer.summaries()
    assert summaries[0].error  # failed first
    failed = buffer.trace(summaries[0].trace_id)
    assert [s.name for s in failed if s.error] == [
        "billing.PaymentCaptured -> notifications.notify_order_paid"
    ]
    assert any(s.root == "POST /orders" for s in summaries)  # among the 20 slowest


async def test_traces_off_keep_no_buffer(database_url: str, no_tracer_provider: None) -> None:
    app, observability = shop(database_url, traces=False)
    async with app.running(), client_of(app) as client:
        await pay_one_order(app, client)
    assert observability.traces is None


async def test_two_apps_in_one_process_each_keep_their_traces(
    sqlite_url: str, tmp_path: Any, no_tracer_provider: None
) -> None:
    first, first_observability = shop(sqlite_url)
    second, second_observability = shop(f"sqlite:///{tmp_path / 'second.db'}")
    async with first.running(), second.running(), client_of(second) as client:
        await pay_one_order(second, client)
    async with first.running(), client_of(first) as client:
        await pay_one_order(first, client)  # the second app stopped: the first still traces
    assert first_observability.traces is not None
    assert second_observability.traces is not None
    assert any(s.root == "POST /orders" for s in second_observability.traces.summaries())
    assert any(s.root == "POST /orders" for s in first_observability.traces.summaries())


def test_otlp_export_follows_the_setting_and_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from dolmen.observability._tracing_sdk import exporter_processor

    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    assert exporter_processor(None) is None  # nothing configured: nothing exported

    configured = exporter_processor("http://collector:4318")
    assert isinstance(configured, BatchSpanProcessor)
    exporter = configured.span_exporter
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector:4318/v1/traces"
    configured.shutdown()  # type: ignore[no-untyped-call]

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://agent:4318")
    from_variable = exporter_processor(None)
    assert isinstance(from_variable, BatchSpanProcessor)
    assert from_variable.span_exporter._endpoint == "http://agent:4318/v1/traces"
    from_variable.shutdown()  # type: ignore[no-untyped-call]

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert exporter_processor(None) is None
