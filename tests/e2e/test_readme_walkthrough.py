"""The README's walk through the shop, run as written, twice, against a running shop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import ShopServer

README = Path(__file__).resolve().parents[2] / "README.md"
DEMO_URL = "http://127.0.0.1:8000"
WALKTHROUGH = re.compile(
    r"<!-- walkthrough:start -->\s*```bash\n(?P<script>.*?)```\s*<!-- walkthrough:end -->",
    re.DOTALL,
)


def readme_walkthrough() -> str:
    """The bash block between the README's walkthrough markers."""
    found = WALKTHROUGH.search(README.read_text())
    assert found, f"{README} has no ```bash block between the walkthrough markers"
    script = found["script"]
    assert DEMO_URL in script, f"the walkthrough no longer talks to {DEMO_URL}"
    return script


def run_walkthrough(shop: ShopServer) -> list[str]:
    """Run the README's walkthrough against ``shop``; the lines it prints."""
    script = readme_walkthrough().replace(DEMO_URL, shop.url)
    # The script's `python3` is this interpreter, as it is for someone with the venv active.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": path},
        check=False,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return [line for line in run.stdout.splitlines() if line.strip()]


def test_the_readme_walkthrough_shows_an_order_placed_then_paid_each_time_it_runs(
    shop: ShopServer,
) -> None:
    orders: set[str] = set()
    for _ in range(2):  # against the same shop: a second run must work as the first did
        lines = run_walkthrough(shop)
        assert len(lines) == 4, lines
        product, placed, paid, notifications = (json.loads(line) for line in lines)
        assert '"status":"pending"' in lines[1]  # as the README says it reads
        assert '"status":"paid"' in lines[2]
        sku = product["sku"]
        assert product == {"sku": sku, "name": "Desk lamp", "price": "35.00", "stock": 5}
        expected: dict[str, Any] = {
            "customer_email": placed["customer_email"],
            "items": [{"sku": sku, "quantity": 2, "unit_price": "35.00"}],
            "total": "70.00",
        }
        assert {key: placed[key] for key in expected} == expected
        assert placed["status"] == "pending"
        assert {key: paid[key] for key in expected} == expected
        assert (paid["id"], paid["status"]) == (placed["id"], "paid")
        [notification] = notifications
        assert notification["email"] == placed["customer_email"]
        assert notification["order_id"] == placed["id"]
        assert notification["kind"] == "order_paid"
        orders.add(placed["id"])
    assert len(orders) == 2
