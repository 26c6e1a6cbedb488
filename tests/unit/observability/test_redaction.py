"""Redaction: secret settings' values, URL passwords and secret-looking fields never show."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from dolmen import App, Module
from dolmen.observability import Redactor


def test_secret_looking_field_names_are_masked_at_any_depth() -> None:
    redactor = Redactor(keys=["pin_code"])
    fields = {
        "Authorization": "Bearer abc",
        "access-token": "t",
        "DB_PASSWORD": "p",
        "session_cookie": "c",
        "user": {"api_key": "k", "name": "ada"},
        "pin_code": "1234",
        "order_id": "A-1",
    }
    assert redactor.fields(fields) == {
        "Authorization": "********",
        "access-token": "********",
        "DB_PASSWORD": "********",
        "session_cookie": "********",
        "user": {"api_key": "********", "name": "ada"},
        "pin_code": "********",
        "order_id": "A-1",
    }


def test_secret_values_are_masked_in_text_as_written_and_as_json_escapes_them() -> None:
    redactor = Redactor(['pa"ss\\word', "abc"])  # too short to search for: left alone
    assert redactor.text('got pa"ss\\word') == "got ********"
    assert redactor.text('{"m":"got pa\\"ss\\\\word"}') == '{"m":"got ********"}'
    assert redactor.text("abc") == "abc"
    assert redactor.text("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"


def test_the_secrets_are_the_apps_secret_settings(tmp_path: Path) -> None:
    class GatewaySettings(BaseSettings):
        api_secret: SecretStr = SecretStr("gw-0123456")
        region: str = "eu-west-1"

    app = App("t", [Module("gateway", settings=GatewaySettings)], config_dir=tmp_path)
    redactor = Redactor.of(app.load_config(environ={}))
    assert redactor.text("calling eu-west-1 with gw-0123456") == "calling eu-west-1 with ********"
