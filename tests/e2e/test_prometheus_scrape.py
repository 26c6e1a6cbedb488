"""A real Prometheus server (Debian's ``prometheus``) scrapes the shop and answers queries.

Prometheus runs on 127.0.0.1 with a generated configuration that scrapes the shop every
half second, and its own storage in the test's folder. The test waits (a bounded polling
loop on Prometheus's HTTP API) until a query answers the count of what was done.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REQUIRE_SERVICES
from tests.e2e.conftest import _free_port, run_shop, start_server
from tests.e2e.test_shop_http import add_product, new_customer, place_order

LOOKUPS = 7
QUERY_DEADLINE = 60.0  # seconds for Prometheus to have scraped what was done
PROMETHEUS_STARTUP = 30.0


def prometheus_binary() -> str:
    """Debian's ``prometheus``; skip the test (fail in CI) when it is not installed."""
    found = shutil.which("prometheus")
    if found is None:
        message = (
            "the Prometheus server is not installed; install it "
            "(Debian/Ubuntu: 'apt-get update && apt-get install -y prometheus') to run this test"
        )
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextlib.contextmanager
def run_prometheus(folder: Path, target: str) -> Iterator[str]:
    """Prometheus scraping ``target`` (``host:port``) every 0.5 s; yields its base URL."""
    binary = prometheus_binary()
    folder.mkdir()
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 500ms\n"
        "  scrape_timeout: 400ms\n"
        "scrape_configs:\n"
        "  - job_name: shop\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    log_path = folder / "prometheus.log"
    process = start_server(command, folder, {}, log_path)
    try:
        deadline = time.monotonic() + PROMETHEUS_STARTUP
        while not _ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Prometheus did not start; its output:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _ready(url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
    return False


def query(prometheus: str, promql: str) -> float | None:
    """The value of an instant query with one result (None while it has none)."""
    response = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=5.0)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "success", answer
    results = answer["data"]["result"]
    if not results:
        return None
    value = float(results[0]["value"][1])
    return None if math.isnan(value) else value


def answered(prometheus: str, promql: str, expected: float) -> float | None:
    """Poll ``promql`` until it answers ``expected``; fail after QUERY_DEADLINE seconds."""
    deadline = time.monotonic() + QUERY_DEADLINE
    while True:
        value = query(prometheus, promql)
        if value == expected:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Prometheus answered {value!r} to {promql}, not {expected}")
        time.sleep(0.2)


def test_prometheus_scrapes_the_shop_and_answers_queries(tmp_path: Path, database_url: str) -> None:
    prometheus_binary()  # before starting the shop: skip early when it is missing
    with run_shop(tmp_path, database_url) as server:
        target = server.url.removeprefix("http://")
        with run_prometheus(tmp_path / "prometheus", target) as prometheus:
            with httpx.Client(base_url=server.url, timeout=10.0) as client:
                sku = add_product(client)
                for _ in range(LOOKUPS):
                    assert client.get(f"/catalog/products/{sku}").status_code == 200
                assert place_order(client, new_customer(), (sku, 1)).status_code == 201
            lookups = 'sum(dolmen_http_requests_total{route="/catalog/products/{sku}"})'
            assert answered(prometheus, lookups, LOOKUPS) == LOOKUPS
            orders = 'sum(dolmen_events_published_total{event_type="orders.OrderPlaced"})'
            assert answered(prometheus, orders, 1) == 1
            up = 'up{job="shop"}'
            assert query(prometheus, up) == 1  # the scrapes succeed
            slow = (
                "histogram_quantile(0.99, sum by (le) "
                '(dolmen_http_request_duration_seconds_bucket{module="catalog"}))'
            )
            p99 = query(prometheus, slow)
            assert p99 is not None  # the histogram's buckets are usable
            assert p99 > 0
