"""``dolmen run --workers 2``: ``/metrics`` counts what every worker did, whichever answers:
the requests, the module calls, the events published and the handlers' runs."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import run_shop
from tests.e2e.test_shop_http import add_product, eventually, new_customer, place_order

REQUESTS = 40
ORDERS = 3


def total(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    found = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                found += sample.value
    return found


def product_lookups(text: str, route: str) -> float:
    return total(text, "dolmen_http_requests_total", route=route)


def handled(text: str, handler: str) -> float:
    return total(text, "dolmen_events_handled_total", handler=handler)


def test_two_workers_share_their_metrics(tmp_path: Path, database_url: str) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with run_shop(tmp_path, database_url, env=env, options=["--workers", "2"]) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            sku = add_product(client, stock=ORDERS)
            for _ in range(ORDERS):
                assert place_order(client, new_customer(), (sku, 1)).status_code == 201

        def look_up(_: int) -> int:  # a connection of its own: either worker may answer
            return httpx.get(f"{server.url}/catalog/products/{sku}", timeout=10.0).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(look_up, range(REQUESTS))) == {200}
        # Every order's events run their handlers in either worker: wait for the last one.
        eventually(
            lambda: httpx.get(f"{server.url}/metrics", timeout=10.0).text,
            lambda text: handled(text, "notifications.notify_order_paid") == ORDERS,
            f"{ORDERS} notifications were not counted",
        )
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=10.0) for _ in range(6)]
    assert {scrape.status_code for scrape in scrapes} == {200}
    for scrape in scrapes:
        text = scrape.text
        assert product_lookups(text, "/catalog/products/{sku}") == REQUESTS
        assert total(text, "dolmen_http_requests_total", route="/orders", status="201") == ORDERS
        assert total(text, "dolmen_module_calls_total", caller="orders", callee="catalog") == ORDERS
        for event_type in ("orders.OrderPlaced", "billing.PaymentCaptured"):
            published = total(text, "dolmen_events_published_total", event_type=event_type)
            assert published == ORDERS, event_type
        for handler in (
            "billing.charge_order",
            "orders.mark_order_paid",
            "notifications.notify_order_paid",
        ):
            assert handled(text, handler) == ORDERS, handler
        assert total(text, "dolmen_events_failed_total") == 0
    # Each worker that counted a request keeps its values in a file of its own there.
    assert list(shared.glob("counter_*.db"))


def test_dolmen_run_makes_the_shared_folder_and_removes_it(tmp_path: Path) -> None:
    # The server's temporary folder is the test's own: another test or run on this machine
    # serving with --workers meanwhile makes its folder elsewhere.
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {"TMPDIR": str(temporary)}
    with run_shop(tmp_path, env=env, options=["--workers", "2"]) as server:
        made = list(temporary.glob("dolmen-metrics-*"))
        assert len(made) == 1  # PROMETHEUS_MULTIPROC_DIR of the workers
        for _ in range(5):
            assert httpx.get(f"{server.url}/no/such/page", timeout=10.0).status_code == 404
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=10.0) for _ in range(4)]
    for scrape in scrapes:
        assert product_lookups(scrape.text, "<unmatched>") == 5
    assert not made[0].exists()
