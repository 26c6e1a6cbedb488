"""``dolmen run`` as an operator runs it: its start logged once per serving process, and
``--workers 2 --env prod`` serving the shop on a fresh PostgreSQL database."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import START_LINE, ShopServer
from tests.e2e.test_shop_http import add_product, new_customer, place_order, settled_order

if TYPE_CHECKING:
    from tests.e2e.conftest import LaunchShop


def test_the_app_start_is_logged_once(shop: ShopServer) -> None:
    # `dolmen run` starts the app once to check it before serving: that start is not logged.
    assert shop.output().count(START_LINE) == 1, shop.output()


@pytest.mark.postgres
def test_two_workers_serve_the_shop_in_the_environment_asked_for(
    launch_shop: LaunchShop,
) -> None:
    options = ["--workers", "2", "--env", "prod"]
    with (
        fresh_postgres_database("dolmen_workers") as url,
        launch_shop(url, options=options) as server,
        httpx.Client(base_url=server.url, timeout=10.0) as client,
    ):
        # 3,000.00 is above the charge limit of dolmen.toml (1,000.00), within prod's (5,000.00).
        sku = add_product(client, price="3000.00", stock=3)
        placed = place_order(client, new_customer(), (sku, 1))
        assert placed.status_code == 201, placed.text
        assert settled_order(client, placed.json()["id"])["status"] == "paid"
        output = server.output()
        assert output.count(START_LINE) == 2, output  # one per worker
        assert "Started parent process" in output
