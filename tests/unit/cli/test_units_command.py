"""``dolmen run --unit NAME`` and ``dolmen units APP``: one unit served, the topology shown.

``uvicorn.run`` is replaced by a recorder, as in test_run_command.py: these tests are about
what it is given and the environment its workers would inherit (tests/e2e/units serves the
units for real).
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner, Result

from dolmen import App
from dolmen.cli import cli

APP = """
from pathlib import Path
from fastapi import APIRouter
from dolmen import App, Event, Module

class Sold(Event, name="sales.Sold"):
    sku: str

async def send_receipt(event: Sold) -> None:
    pass

sales_routes = APIRouter()

@sales_routes.post("/{sku}")
async def sell(sku: str) -> dict[str, str]:
    return {"sold": sku}

app = App(
    "shop",
    modules=[
        Module("sales", routers=[sales_routes]),
        Module("mail", listens_to=["sales"], handlers=[send_receipt]),
    ],
    config_dir=Path(__file__).parent,
)
"""

UNITS = """
[units.unit.front]
modules = ["sales"]

[units.unit.mailer]
modules = ["mail"]
url = "http://mailer:8000"
replicas = 2
"""


@dataclass
class Uvicorn:
    """What ``uvicorn.run`` was called with, and the unit its workers would run."""

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    units: list[str | None] = field(default_factory=list)

    def run(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))
        self.units.append(os.environ.get("DOLMEN__UNITS__CURRENT"))


@pytest.fixture
def project(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    monkeypatch.setattr(sys, "path", list(sys.path))  # the commands put --app-dir first
    clean_env.setenv("DOLMEN__UNITS__CURRENT", "")  # so that what --unit sets is undone after
    clean_env.delenv("DOLMEN__UNITS__CURRENT")
    module = f"units_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(APP)
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    (tmp_path / "dolmen.toml").write_text(f'[app]\ndatabase_url = "{url}"\n{UNITS}')
    return tmp_path, f"{module}:app"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Uvicorn:
    recorder = Uvicorn()
    monkeypatch.setattr(uvicorn, "run", recorder.run)
    return recorder


def dolmen(project: tuple[Path, str], command: str, *options: str) -> Result:
    folder, spec = project
    return CliRunner().invoke(cli, [command, spec, "--app-dir", str(folder), *options])


def test_run_unit_serves_that_unit_s_modules_here_and_in_every_worker(
    project: tuple[Path, str], served: Uvicorn
) -> None:
    result = dolmen(project, "run", "--unit", "mailer")

    assert result.exit_code == 0, result.output
    [(args, _)] = served.calls
    app = args[0]
    assert isinstance(app, App)
    assert [m.name for m in app.local_modules] == ["mail"]
    assert "/sales/{sku}" not in app.asgi().openapi()["paths"]
    assert served.units == ["mailer"]  # DOLMEN__UNITS__CURRENT, which workers inherit


def test_run_a_unit_the_configuration_does_not_declare_is_a_usage_error(
    project: tuple[Path, str], served: Uvicorn
) -> None:
    result = dolmen(project, "run", "--unit", "mailers")

    assert result.exit_code == 2
    assert "--unit mailers: app 'shop' declares no unit 'mailers'" in result.output
    assert "(its units: front, mailer)" in result.output
    assert served.calls == []
    assert "DOLMEN__UNITS__CURRENT" not in os.environ


def test_units_prints_each_unit_with_its_modules_routes_and_handlers(
    project: tuple[Path, str],
) -> None:
    result = dolmen(project, "units")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "app shop: 2 units",
        "",
        "unit front (no url, 1 replica)",
        "  modules   sales",
        "  routes    POST /sales/{sku}",
        "  handlers  none",
        "",
        "unit mailer (url http://mailer:8000, 2 replicas)",
        "  modules   mail",
        "  routes    none",
        "  handlers  mail.send_receipt <- sales.Sold",
        "",
        "calls across units (HTTP, signed with [units] secret):",
        "  none",
        "",
        "events across units (through the shared database: each unit claims its own "
        "handlers' deliveries):",
        "  sales.Sold: front -> mailer (mail.send_receipt)",
    ]


def test_units_json_has_the_units_and_how_they_reach_each_other(
    project: tuple[Path, str],
) -> None:
    result = dolmen(project, "units", "--json")

    assert result.exit_code == 0, result.output
    topology = json.loads(result.output)
    assert topology["transport"] == "database"
    front, mailer = topology["units"]
    assert front["routes"] == [{"method": "POST", "path": "/sales/{sku}"}]
    assert mailer == {
        "name": "mailer",
        "modules": ["mail"],
        "url": "http://mailer:8000",
        "replicas": 2,
        "routes": [],
        "handlers": [{"handler": "mail.send_receipt", "event": "sales.Sold"}],
    }
    assert topology["calls"] == []
    assert topology["events"] == [
        {"event": "sales.Sold", "from_unit": "front", "handler": "mail.send_receipt",
         "to_unit": "mailer"},
    ]  # fmt: skip
    assert topology["forwarding"] == []  # the units share the outbox: nothing forwarded


def test_units_with_a_broker_shows_it_and_what_each_unit_forwards_where(
    project: tuple[Path, str], clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("DOLMEN__UNITS__TRANSPORT", "rabbitmq")
    clean_env.setenv("DOLMEN__UNITS__BROKER_URL", "amqp://guest:hush@rabbit:5672/")
    clean_env.setenv("DOLMEN__UNITS__BROKER_NAMESPACE", "prod")

    printed = dolmen(project, "units")
    as_json = dolmen(project, "units", "--json")

    assert printed.exit_code == 0, printed.output
    assert printed.output.splitlines()[-5:] == [
        "events across units (through rabbitmq at amqp://guest:***@rabbit:5672/):",
        "  sales.Sold: front -> mailer (mail.send_receipt)",
        "",
        "forwarding (one delivery per event and unit, through the broker):",
        "  front: sales.Sold -> mailer (destination prod-mailer)",
    ]
    assert json.loads(as_json.output)["forwarding"] == [
        {"from_unit": "front", "event": "sales.Sold", "to_units": ["mailer"],
         "destinations": ["prod-mailer"]},
    ]  # fmt: skip
