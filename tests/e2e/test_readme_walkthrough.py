"""The README's walk through the shop, run as written against a freshly started shop."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchShop, ShopServer

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


@pytest.fixture
def fresh_shop(launch_shop: LaunchShop) -> Iterator[ShopServer]:
    """A shop of its own: the walkthrough adds a fixed SKU and reads a fixed customer's mail."""
    with launch_shop() as server:
        yield server


def test_the_readme_walkthrough_orders_a_lamp_and_the_customer_is_notified(
    fresh_shop: ShopServer,
) -> None:
    script = readme_walkthrough().replace(DEMO_URL, fresh_shop.url)
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
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert len(lines) == 3, run.stdout
    product, order, notifications = (json.loads(line) for line in lines)
    assert product == {"sku": "LAMP", "name": "Desk lamp", "price": "35.00", "stock": 5}
    assert '"status":"paid"' in lines[1]  # as the README says it reads
    expected_order: dict[str, Any] = {
        "status": "paid",
        "customer_email": "ada@example.com",
        "items": [{"sku": "LAMP", "quantity": 2, "unit_price": "35.00"}],
        "total": "70.00",
    }
    assert {key: order[key] for key in expected_order} == expected_order
    [notification] = notifications
    assert notification["email"] == "ada@example.com"
    assert notification["order_id"] == order["id"]
    assert notification["kind"] == "order_paid"
