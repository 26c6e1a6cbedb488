"""``dolmen run --workers 2``: ``/metrics`` counts what every worker did, whichever answers."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import run_shop
from tests.e2e.test_shop_http import add_product

REQUESTS = 40


def product_lookups(text: str, route: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dolmen_http_requests_total" and sample.labels["route"] == route:
                total += sample.value
    return total


def test_two_workers_share_their_metrics(tmp_path: Path, database_url: str) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    with run_shop(tmp_path, database_url, env=env, options=["--workers", "2"]) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            sku = add_product(client)

        def look_up(_: int) -> int:  # a connection of its own: either worker may answer
            return httpx.get(f"{server.url}/catalog/products/{sku}", timeout=10.0).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(look_up, range(REQUESTS))) == {200}
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=10.0) for _ in range(6)]
    assert {scrape.status_code for scrape in scrapes} == {200}
    for scrape in scrapes:
        assert product_lookups(scrape.text, "/catalog/products/{sku}") == REQUESTS
    # Each worker that counted a request keeps its values in a file of its own there.
    assert list(shared.glob("counter_*.db"))


def test_dolmen_run_makes_the_shared_folder_and_removes_it(tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("dolmen-metrics-*"))
    with run_shop(tmp_path, options=["--workers", "2"]) as server:
        made = set(Path(tempfile.gettempdir()).glob("dolmen-metrics-*")) - before
        assert len(made) == 1  # PROMETHEUS_MULTIPROC_DIR of the workers
        for _ in range(5):
            assert httpx.get(f"{server.url}/no/such/page", timeout=10.0).status_code == 404
        scrapes = [httpx.get(f"{server.url}/metrics", timeout=10.0) for _ in range(4)]
    for scrape in scrapes:
        assert product_lookups(scrape.text, "<unmatched>") == 5
    assert not made.pop().exists()
