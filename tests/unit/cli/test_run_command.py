"""``dolmen run --workers N --env NAME``: the check before serving, and what uvicorn is given.

``uvicorn.run`` is replaced by a recorder: these tests are about the arguments it receives and
the environment its workers would inherit (tests/e2e/test_workers.py serves for real).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import prometheus_client  # noqa: F401  # see below
import pytest
import uvicorn
from click.testing import CliRunner, Result

from dolmen.cli import cli

# prometheus_client picks its value class once, when first imported: imported first inside
# the --workers test (which sets PROMETHEUS_MULTIPROC_DIR for the workers it would start),
# it would stay in multiprocess mode for the later tests of this process. Imported here, it
# is in the mode a single process has, as in `dolmen run` without --workers.


@dataclass
class Project:
    """A folder with an app whose database depends on the environment (dev or prod)."""

    folder: Path
    module: str

    @property
    def spec(self) -> str:
        return f"{self.module}:app"

    def database(self, environment: str) -> Path:
        return self.folder / f"{environment}.db"


@dataclass
class Uvicorn:
    """What ``uvicorn.run`` was called with, and the DOLMEN_ENV its workers would inherit."""

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    environments: list[str | None] = field(default_factory=list)

    def run(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append((args, kwargs))
        self.environments.append(os.environ.get("DOLMEN_ENV"))


@pytest.fixture
def project(
    tmp_path: Path, clean_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> Project:
    monkeypatch.setattr(sys, "path", list(sys.path))  # `dolmen run` puts --app-dir first
    clean_env.setenv("DOLMEN_ENV", "dev")  # so that what `dolmen run` sets is undone after
    module = f"served_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(
        "from pathlib import Path\n"
        "from dolmen import App, Module\n"
        "app = App('served', modules=[Module('greetings')], config_dir=Path(__file__).parent)\n"
    )
    project = Project(tmp_path, module)
    for environment in ("dev", "prod"):
        url = f"sqlite:///{project.database(environment)}"
        (tmp_path / f"dolmen.{environment}.toml").write_text(f'[app]\ndatabase_url = "{url}"\n')
    return project


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Uvicorn:
    recorder = Uvicorn()
    monkeypatch.setattr(uvicorn, "run", recorder.run)
    return recorder


def dolmen_run(project: Project, *options: str) -> Result:
    arguments = ["run", project.spec, "--app-dir", str(project.folder), *options]
    return CliRunner().invoke(cli, arguments)


def test_workers_get_the_import_string_so_that_each_one_starts_the_app(
    project: Project, served: Uvicorn
) -> None:
    result = dolmen_run(project, "--workers", "3", "--port", "8123")
    assert result.exit_code == 0, result.output
    [(args, kwargs)] = served.calls
    assert args == (project.spec,)
    assert kwargs["workers"] == 3
    assert kwargs["app_dir"] == str(project.folder)
    assert kwargs["port"] == 8123
    assert project.database("dev").is_file()  # the check before serving started it once


def test_env_picks_the_configuration_of_the_check_and_of_every_worker(
    project: Project, served: Uvicorn
) -> None:
    result = dolmen_run(project, "--workers", "2", "--env", "prod")
    assert result.exit_code == 0, result.output
    assert served.environments == ["prod"]  # the workers inherit it
    assert project.database("prod").is_file()
    assert not project.database("dev").exists()


def test_env_with_one_process_serves_that_environment_too(
    project: Project, served: Uvicorn
) -> None:
    result = dolmen_run(project, "--env", "prod")
    assert result.exit_code == 0, result.output
    [(args, _)] = served.calls
    assert args[0].load_config().environment == "prod"  # what its lifespan will load
    assert project.database("prod").is_file()


def test_workers_and_reload_are_refused_together(project: Project, served: Uvicorn) -> None:
    result = dolmen_run(project, "--workers", "2", "--reload")
    assert result.exit_code == 2
    assert "--workers and --reload do not go together" in result.output
    assert served.calls == []
    assert not project.database("dev").exists()


def test_env_cannot_change_an_environment_the_app_sets_in_code(
    project: Project, served: Uvicorn
) -> None:
    source = project.folder / f"{project.module}.py"
    source.write_text(source.read_text().replace("Path(__file__).parent", "'.', environment='dev'"))
    result = dolmen_run(project, "--env", "prod")
    assert result.exit_code == 2
    assert "--env prod cannot change the environment of app 'served'" in result.output
    assert served.calls == []


SPLIT_APP = """\
from pathlib import Path

from dolmen import App, Module
from dolmen.units import InMemoryBroker, InMemoryTransport, Units

broker = InMemoryBroker()
broker.set_reachable(False)  # the broker is down
opened = []


class Counted(InMemoryTransport):
    async def open(self) -> None:
        opened.append(True)
        await super().open()


units = {
    "transport": "redis",  # the extension below makes the transport
    "broker_url": "redis://unused",
    "unit": {"front": {"modules": ["orders"]}, "back": {"modules": ["billing"]}},
}
database = {"database_url": f"sqlite:///{Path(__file__).parent / 'front.db'}"}
app = App(
    "split",
    modules=[Module("orders"), Module("billing")],
    config={"app": database, "units": units, "observability": {"configure_logging": False}},
    config_dir=Path(__file__).parent,
    extensions=[Units(transport=lambda settings: Counted(broker))],
)
"""


def test_a_unit_connects_to_its_broker_once_the_check_before_serving_does_not(
    tmp_path: Path,
    clean_env: pytest.MonkeyPatch,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))  # `dolmen run` puts --app-dir first
    module = f"split_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{module}.py").write_text(SPLIT_APP)
    starts: list[bool] = []

    def serve(app: Any, **_options: Any) -> None:  # what uvicorn's lifespan does with it
        async def lifespan() -> None:
            await app.start()
            starts.append(app.serving)
            await app.stop()

        asyncio.run(lifespan())

    monkeypatch.setattr(uvicorn, "run", serve)
    clean_env.setenv("DOLMEN_ENV", "dev")  # so that what `dolmen run` sets is undone after
    clean_env.setenv("DOLMEN__UNITS__CURRENT", "")  # likewise for --unit
    arguments = ["run", f"{module}:app", "--app-dir", str(tmp_path), "--unit", "front"]
    with caplog.at_level(logging.INFO, logger="dolmen.units"):
        result = CliRunner().invoke(cli, arguments)

    assert result.exit_code == 0, result.output
    assert starts == [True]
    assert sys.modules[module].opened == [True]  # the check before serving did not connect
    down = [r for r in caplog.records if "starts without its broker" in r.getMessage()]
    assert len(down) == 1, caplog.text
