"""The shop's behaviour follows its configuration, from every source."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from shop.app import create_app

from dolmen import App


def shop_in(tmp_path: Path, config: Mapping[str, Any] | None = None) -> App:
    app = create_app(config={"app": {"database_url": f"sqlite:///{tmp_path / 'shop.db'}"},
                             **(config or {})})  # fmt: skip
    app.config_dir = tmp_path
    return app


async def order_status(app: App, total: str, email: str = "ada@example.com") -> dict[str, Any]:
    """Start the app, order one item priced ``total``, let the events flow, return the order."""
    async with app.running():
        transport = httpx.ASGITransport(app=app.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as client:
            product = {"sku": "THING", "name": "Thing", "price": total, "stock": 3}
            assert (await client.post("/catalog/products", json=product)).status_code == 201
            order = {"customer_email": email, "items": [{"sku": "THING", "quantity": 1}]}
            placed = await client.post("/orders", json=order)
            assert placed.status_code == 201, placed.text
            await app.drain_events()
            result = (await client.get(f"/orders/{placed.json()['id']}")).json()
            notes = (await client.get("/notifications", params={"email": email})).json()
            return {"status": result["status"], "notifications": notes}


@pytest.fixture
def clean(clean_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    return clean_env


async def test_the_default_charge_limit_accepts_a_60_order(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    assert (await order_status(shop_in(tmp_path), "60.00"))["status"] == "paid"


async def test_the_charge_limit_from_dolmen_toml_declines_the_order(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dolmen.toml").write_text('[billing]\ncharge_limit = "50.00"\n')
    assert (await order_status(shop_in(tmp_path), "60.00"))["status"] == "payment_failed"


async def test_the_environment_file_overrides_dolmen_toml(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dolmen.toml").write_text('[billing]\ncharge_limit = "50.00"\n')
    (tmp_path / "dolmen.staging.toml").write_text('[billing]\ncharge_limit = "80.00"\n')
    clean.setenv("DOLMEN_ENV", "staging")
    assert (await order_status(shop_in(tmp_path), "60.00"))["status"] == "paid"


async def test_an_environment_variable_overrides_the_files(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dolmen.toml").write_text('[billing]\ncharge_limit = "500.00"\n')
    clean.setenv("DOLMEN__BILLING__CHARGE_LIMIT", "10.00")
    assert (await order_status(shop_in(tmp_path), "60.00"))["status"] == "payment_failed"


async def test_a_secret_file_overrides_the_environment(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "billing__charge_limit").write_text("70.00\n")
    clean.setenv("DOLMEN__APP__SECRETS_DIR", str(secrets))
    clean.setenv("DOLMEN__BILLING__CHARGE_LIMIT", "10.00")
    assert (await order_status(shop_in(tmp_path), "60.00"))["status"] == "paid"


async def test_code_overrides_everything_for_tests(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    clean.setenv("DOLMEN__BILLING__CHARGE_LIMIT", "500.00")
    app = shop_in(tmp_path, {"billing": {"charge_limit": "5.00"}})
    assert (await order_status(app, "60.00"))["status"] == "payment_failed"


async def test_the_notification_sender_name_comes_from_the_configuration(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    clean.setenv("DOLMEN__NOTIFICATIONS__SENDER_NAME", "Acme Support")
    result = await order_status(shop_in(tmp_path), "20.00")
    assert [n["sender"] for n in result["notifications"]] == ["Acme Support"]


async def test_a_secret_setting_never_reaches_the_logs(
    tmp_path: Path, clean: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean.setenv("DOLMEN__BILLING__GATEWAY_API_KEY", "sk-live-very-secret")
    with caplog.at_level(logging.DEBUG):
        await order_status(shop_in(tmp_path), "20.00")
    assert caplog.records
    assert "sk-live-very-secret" not in caplog.text


async def test_a_broken_configuration_stops_the_start_before_anything_opens(
    tmp_path: Path, clean: pytest.MonkeyPatch
) -> None:
    from dolmen.config import ConfigurationError

    clean.setenv("DOLMEN__BILLING__CHARGE_LIMIT", "-1")
    app = shop_in(tmp_path)
    with pytest.raises(ConfigurationError, match=r"billing\.charge_limit"):
        await app.start()
    assert not app.started
    assert not (tmp_path / "shop.db").exists()
