"""No command shows a database password: config show, diff and check, run's errors, the demo."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.dolmen_runner import dolmen, env_for

SECRET = "s3cr3t-pw"
URL = f"postgresql://shop:{SECRET}@127.0.0.1:1/shop"  # nothing listens on port 1
MASKED = "postgresql://shop:***@127.0.0.1:1/shop"
BROKER = f"amqp://guest:{SECRET}@broker:5672//"


def test_config_show_masks_url_passwords_in_the_table_and_json(shop_copy: Path) -> None:
    # Any setting may hold a URL with credentials; the shop's sender name stands in for one.
    env = env_for(shop_copy, DOLMEN_DATABASE_URL=URL, DOLMEN__NOTIFICATIONS__SENDER_NAME=BROKER)
    table = dolmen("config", "show", cwd=shop_copy, env=env)
    as_json = dolmen("config", "show", "--json", cwd=shop_copy, env=env)

    for result in (table, as_json):
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert result.stderr.splitlines() == [f"app shop (myshop:app), database {MASKED}"]
    rows = {line.split()[0]: line.split()[1] for line in table.stdout.splitlines()[4:]}
    assert rows["app.database_url"] == MASKED
    assert rows["notifications.sender_name"] == "amqp://guest:***@broker:5672//"
    settings = {s["key"]: s for s in json.loads(as_json.stdout)["settings"]}
    assert settings["app.database_url"] == {
        "key": "app.database_url",
        "value": MASKED,
        "source": "environment variable DOLMEN_DATABASE_URL",
        "secret": False,
        "masked": True,
    }
    assert settings["notifications.sender_name"]["masked"] is True
    assert settings["billing.charge_limit"]["masked"] is False


def test_config_diff_masks_url_passwords(shop_copy: Path) -> None:
    (shop_copy / "config" / "dolmen.staging.toml").write_text(f'[app]\ndatabase_url = "{URL}"\n')
    result = dolmen("config", "diff", "dev", "staging", cwd=shop_copy, env=env_for(shop_copy))
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert (
        f"app.database_url: dev=(unset) (default) | staging={MASKED} (dolmen.staging.toml:2)"
        "  [set in staging only]"
    ) in result.stdout.splitlines()


def test_config_check_echoes_an_invalid_value_masked(shop_copy: Path) -> None:
    env = env_for(shop_copy, DOLMEN__BILLING__GATEWAY_LATENCY_MS=URL)
    result = dolmen("config", "check", cwd=shop_copy, env=env)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert f"got {MASKED!r} (environment variable DOLMEN__BILLING__GATEWAY_LATENCY_MS)" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (URL, f"cannot reach the database {MASKED}: ConnectionRefusedError: "),
        (
            URL.replace("://", "//"),
            "cannot parse database URL 'postgresql//shop:***@127.0.0.1:1/shop'",
        ),
        (URL.replace(":1/", ":1:2/"), "cannot parse database URL 'postgresql://shop:***@"),
    ],
    ids=["unreachable", "unparseable", "bad-port"],
)
def test_run_fails_on_a_database_url_without_showing_its_password(
    shop_copy: Path, url: str, says: str
) -> None:
    env = env_for(shop_copy, DOLMEN_DATABASE_URL=url)
    result = dolmen("run", "myshop:app", "--port", "1", cwd=shop_copy, env=env)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something already listens on: the demo prints its banner, then cannot serve."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


@pytest.mark.postgres
def test_the_demo_banner_masks_the_database_password(
    postgres_url: str, taken_port: int, tmp_path: Path
) -> None:
    # The test server trusts local connections: a password in the URL is never checked.
    with_password = make_url(postgres_url).set(password=SECRET)
    result = dolmen(
        "demo", "--port", str(taken_port), cwd=tmp_path,
        env={"DOLMEN_DATABASE_URL": with_password.render_as_string(hide_password=False)},
    )  # fmt: skip
    assert SECRET not in result.stdout + result.stderr
    banner = result.stdout.splitlines()
    assert f"Dolmen demo: the shop on {with_password.render_as_string()}" in banner, (
        result.stdout + result.stderr
    )
