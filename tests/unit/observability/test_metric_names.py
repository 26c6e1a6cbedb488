"""The metric names, types and labels, as a Prometheus server reads them."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from dolmen.events import HandlerStats
from dolmen.observability._metrics import Metrics, exposition
from dolmen.units import Backlog, Forwarding, UnitLag


def test_the_metrics_have_prometheus_names_types_and_bounded_labels() -> None:
    metrics = Metrics()
    metrics.request("GET", "/catalog/products/{sku}", 200, "catalog", 0.004)
    metrics.request("GET", "/catalog/products/{sku}", 200, "catalog", 0.006)
    metrics.call("orders", "catalog", "CatalogService.reserve", 0.001)
    metrics.remote_call("catalog", "catalog", "CatalogService.reserve", "timeout", 5.0)
    metrics.events_published(["orders.OrderPlaced", "orders.OrderPlaced"])
    metrics.handled.labels("orders.OrderPlaced", "billing.charge").inc()
    metrics.outbox([HandlerStats("billing.charge", 4, 1, 0, 2, 12.5, dispatchers=0)])
    metrics.units_lag(
        UnitLag("storefront", "redis", (Forwarding("billing", 1, 0.5),),
                (Backlog("billing", {"0": 3}),)),
    )  # fmt: skip
    body, content_type = exposition(metrics.registry)
    assert content_type.startswith("text/plain; version=")
    families = {
        f.name: f
        for f in text_string_to_metric_families(body.decode())
        if not f.name.endswith("_created")  # the creation times prometheus_client adds
    }
    assert {name: (f.type, _label_names(f)) for name, f in families.items()} == {
        "dolmen_http_requests": ("counter", {"method", "route", "status", "module"}),
        "dolmen_http_request_duration_seconds": (
            "histogram",
            {"method", "route", "status", "module", "le"},
        ),
        "dolmen_module_calls": ("counter", {"caller", "callee", "method"}),
        "dolmen_module_call_duration_seconds": ("histogram", {"caller", "callee", "method", "le"}),
        "dolmen_remote_calls": ("counter", {"unit", "module", "method", "outcome"}),
        "dolmen_remote_call_duration_seconds": ("histogram", {"unit", "module", "method", "le"}),
        "dolmen_events_published": ("counter", {"event_type"}),
        "dolmen_events_handled": ("counter", {"event_type", "handler"}),
        "dolmen_events_failed": ("counter", set()),
        "dolmen_events_retried": ("counter", set()),
        "dolmen_events_dead": ("counter", set()),
        "dolmen_events_dispatch_lag_seconds": ("histogram", set()),
        "dolmen_outbox_pending": ("gauge", {"handler"}),
        "dolmen_outbox_unhandled": ("gauge", {"handler"}),
        "dolmen_outbox_dead": ("gauge", {"handler"}),
        "dolmen_outbox_oldest_pending_age_seconds": ("gauge", {"handler"}),
        "dolmen_units_forward_pending": ("gauge", {"unit", "destination"}),
        "dolmen_units_forward_oldest_age_seconds": ("gauge", {"unit", "destination"}),
        "dolmen_units_broker_pending": ("gauge", {"unit", "destination", "partition"}),
        "dolmen_units_broker_lag_known": ("gauge", {"unit", "destination"}),
    }
    requests = families["dolmen_http_requests"].samples
    assert [
        (s.name, s.labels["route"], s.value) for s in requests if s.name.endswith("_total")
    ] == [("dolmen_http_requests_total", "/catalog/products/{sku}", 2.0)]
    published = families["dolmen_events_published"].samples
    assert [(s.labels["event_type"], s.value) for s in published if s.name.endswith("_total")] == [
        ("orders.OrderPlaced", 2.0)
    ]
    unhandled = families["dolmen_outbox_unhandled"].samples
    assert [(s.labels["handler"], s.value) for s in unhandled] == [("billing.charge", 4.0)]


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()  # two apps in one process: no name taken twice
    first.call("orders", "catalog", "CatalogService.reserve", 0.001)
    assert b"dolmen_module_calls_total" in exposition(first.registry)[0]
    assert b"dolmen_module_calls_total{" not in exposition(second.registry)[0]


def _label_names(family: object) -> set[str]:
    return {name for sample in getattr(family, "samples", ()) for name in sample.labels}


class CatalogService:
    """A service key, as the seam gives it."""


def test_module_calls_are_labelled_with_the_service_and_method_names() -> None:
    metrics = Metrics()
    for _ in range(2):
        metrics.module_call("orders", "catalog", CatalogService, "reserve", 0.001)
    metrics.call("orders", "catalog", "CatalogService.reserve", 0.001)
    [family] = [
        f
        for f in text_string_to_metric_families(exposition(metrics.registry)[0].decode())
        if f.name == "dolmen_module_calls"
    ]
    assert [(s.labels, s.value) for s in family.samples if s.name.endswith("_total")] == [
        ({"caller": "orders", "callee": "catalog", "method": "CatalogService.reserve"}, 3.0)
    ]
