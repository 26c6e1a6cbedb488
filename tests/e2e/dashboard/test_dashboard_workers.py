"""``dolmen run --workers 2``: the dashboard of whichever worker answers counts what every
worker served (each samples the workers' shared metric files)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import run_shop
from tests.e2e.test_shop_http import add_product

REQUESTS = 30
SETTLE_SECONDS = 20.0  # each worker samples every second


def lookups(state: dict[str, Any]) -> float:
    return sum(
        float(line["requests"])
        for line in state["routes"]
        if line["route"] == "/catalog/products/{sku}" and line["method"] == "GET"
    )


def test_each_worker_shows_the_requests_of_all(tmp_path: Path, database_url: str) -> None:
    env = {"DOLMEN__OBSERVABILITY__DASHBOARD__SAMPLE_SECONDS": "1"}
    with run_shop(tmp_path, database_url, env=env, options=["--workers", "2"]) as server:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            sku = add_product(client)

        def look_up(_: int) -> int:  # a connection of its own: either worker may answer
            return httpx.get(f"{server.url}/catalog/products/{sku}", timeout=10.0).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(look_up, range(REQUESTS))) == {200}
        # Wait for the samplers' next tick, then ask several times (several connections).
        deadline = time.monotonic() + SETTLE_SECONDS
        seen: list[float] = []
        while time.monotonic() < deadline:
            seen = [
                lookups(httpx.get(f"{server.url}/_dolmen/api/state", timeout=10.0).json())
                for _ in range(6)
            ]
            if seen == [REQUESTS] * 6:
                break
            time.sleep(0.2)
    assert seen == [REQUESTS] * 6
