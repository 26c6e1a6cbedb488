"""URL passwords are masked wherever configuration shows a value: settings, problems, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from dolmen.config import AppSettings, ConfigurationError, load_config, mask_credentials
from dolmen.config.report import diff, schema_rows, show_json, show_text

SECRET = "s3cr3t-pw"
URL = f"postgresql://shop:{SECRET}@127.0.0.1:1/shop"
MASKED = "postgresql://shop:***@127.0.0.1:1/shop"


class Broker(BaseModel):
    """A module's settings naming other services by URL, as users add them."""

    url: str = "amqp://guest:guest-pw@localhost:5672//"
    mirrors: list[str] = []
    retries: int = 3


SCHEMA: dict[str, type[BaseModel]] = {"app": AppSettings, "broker": Broker}


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (URL, MASKED),
        ("postgresql+asyncpg://shop:s3cr3t-pw@db/shop", "postgresql+asyncpg://shop:***@db/shop"),
        ("redis://:s3cr3t-pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("amqp://guest:s3cr3t-pw@localhost//", "amqp://guest:***@localhost//"),
        ("postgresql://u:s3cr3t-pw@[::1]:5432/db", "postgresql://u:***@[::1]:5432/db"),
        # Unencoded '@' and '/' in the password: masked whole, whichever way it is read.
        ("postgresql://shop:s3cr@t-pw@db/shop", "postgresql://shop:***@db/shop"),
        ("postgresql://shop:s3c/r3t-pw@db/shop", "postgresql://shop:***@db/shop"),
        ("postgresql://a@b:s3cr3t-pw@db/shop", "postgresql://a@b:***@db/shop"),
        ("postgresql://db/shop?password=s3cr3t-pw&x=1", "postgresql://db/shop?password=***&x=1"),
        # Unparseable, and quoted in a message.
        ("postgresql//shop:s3cr3t-pw@db/shop", "postgresql//shop:***@db/shop"),
        (f"cannot connect to {URL!r}: refused", f"cannot connect to {MASKED!r}: refused"),
    ],
)
def test_a_url_password_is_masked_and_the_rest_stays_readable(text: str, masked: str) -> None:
    assert mask_credentials(text) == masked
    assert "s3cr3t" not in mask_credentials(text)


@pytest.mark.parametrize(
    "text",
    [
        "sqlite:///./var/shop.db",
        "postgresql://shop@db:5432/shop",
        "https://hooks.example.com:8443/x?to=ops@example.com",
        "https://registry.example.com:443/@scope/package",
        "mailto:ada@example.com",
        "Dolmen Shop",
    ],
)
def test_text_without_credentials_is_left_alone(text: str) -> None:
    assert mask_credentials(text) == text


def test_the_mask_reads_as_sqlalchemy_shows_a_url() -> None:
    assert mask_credentials(URL) == make_url(URL).render_as_string(hide_password=True)


def test_settings_show_urls_masked_and_keep_their_real_value(tmp_path: Path) -> None:
    environ = {
        "DOLMEN_DATABASE_URL": URL,
        "DOLMEN__BROKER__MIRRORS": json.dumps(["amqp://a:s3cr3t-pw@m1//", "amqp://m2//"]),
    }
    config = load_config(SCHEMA, config_dir=tmp_path, environ=environ)
    settings = {s.key: s for s in config.settings}
    database = settings["app.database_url"]
    assert (database.shown, database.secret, database.masked) == (MASKED, False, True)
    assert settings["broker.mirrors"].shown == ["amqp://a:***@m1//", "amqp://m2//"]
    assert settings["broker.url"].shown == "amqp://guest:***@localhost:5672//"
    assert (settings["broker.retries"].shown, settings["broker.retries"].masked) == (3, False)
    app = config.section("app")
    assert isinstance(app, AppSettings)
    assert app.database_url == URL  # the app connects with the password
    shown = show_text(config) + show_json(config)
    assert SECRET not in shown
    assert "guest-pw" not in shown
    rows = {row["key"]: row for row in json.loads(show_json(config))["settings"]}
    assert rows["app.database_url"] == {
        "key": "app.database_url",
        "value": MASKED,
        "source": "environment variable DOLMEN_DATABASE_URL",
        "secret": False,
        "masked": True,
    }
    assert rows["broker.retries"]["masked"] is False


def test_a_difference_in_a_url_shows_masked(tmp_path: Path) -> None:
    (tmp_path / "dolmen.prod.toml").write_text(f'[app]\ndatabase_url = "{URL}"\n')
    (tmp_path / "dolmen.staging.toml").write_text(
        f'[app]\ndatabase_url = "{URL.replace(SECRET, "0ther-pw")}"\n'
    )
    configs = {
        env: load_config(SCHEMA, config_dir=tmp_path, environ={}, environment=env)
        for env in ("dev", "prod", "staging")
    }
    [added] = diff(configs["dev"], configs["prod"])
    assert added.describe("dev", "prod") == (
        f"app.database_url: dev=(unset) (default) | prod={MASKED} (dolmen.prod.toml:2)"
        "  [set in prod only]"
    )
    [changed] = diff(configs["prod"], configs["staging"])
    assert changed.describe("prod", "staging") == (
        f"app.database_url: prod={MASKED} (dolmen.prod.toml:2) | "
        f"staging={MASKED} (dolmen.staging.toml:2)  [the masked parts differ]"
    )


def test_an_invalid_value_is_echoed_masked(tmp_path: Path) -> None:
    environ = {"DOLMEN__BROKER__RETRIES": URL}
    with pytest.raises(ConfigurationError) as error:
        load_config(SCHEMA, config_dir=tmp_path, environ=environ)
    [problem] = error.value.problems
    assert str(problem) == (
        f"broker.retries: Input should be a valid integer, unable to parse string as an "
        f"integer, got {MASKED!r} (environment variable DOLMEN__BROKER__RETRIES)"
    )
    assert SECRET not in str(error.value)


def test_the_reference_shows_a_default_url_masked() -> None:
    rows = {row.key: row for row in schema_rows(SCHEMA)}
    assert rows["broker.url"].default == "amqp://guest:***@localhost:5672//"
