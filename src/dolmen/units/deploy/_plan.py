"""``Deployment``: what ``dolmen deploy`` writes files for, checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from dolmen.units._settings import Transport, UnitsSettings
from dolmen.units._topology import PlacedModule, Topology, Unit

PORT = 8000
FAST_NOTE = "fast: uvloop and httptools, which `dolmen run` serves with once installed"
"""Why the image installs ``dolmen[fast]``: the files' first lines say it."""
"""The port each unit serves on, inside its container."""

_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


class DeployError(ValueError):
    """The app cannot be deployed as asked; ``problems`` says what to change, one by one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        header = f"cannot deploy: {count} problem{'s' if count != 1 else ''}:"
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))


@dataclass(frozen=True, slots=True)
class Database:
    """The app's database as the deployment needs it: never its password."""

    backend: str
    """``postgresql`` or ``sqlite``."""
    driver: str
    """The URL's scheme as configured (``postgresql``, ``postgresql+asyncpg``, ``sqlite``)."""
    name: str
    """The PostgreSQL database, or the SQLite file's name."""
    user: str
    """The PostgreSQL user (``dolmen`` when the URL names none); empty for SQLite."""

    @classmethod
    def of_url(cls, url: str, app_name: str) -> Database:
        """Read ``url``'s backend, driver, database and user; DeployError if it is neither."""
        parts = urlsplit(url)
        driver = parts.scheme
        backend = driver.split("+", 1)[0]
        if backend == "postgres":
            backend = "postgresql"
        if backend == "sqlite":
            return cls("sqlite", driver, parts.path.rsplit("/", 1)[-1] or f"{app_name}.db", "")
        if backend != "postgresql":
            raise DeployError(
                [f"the database is {backend!r}; Dolmen deploys on PostgreSQL or SQLite"]
            )
        name = unquote(parts.path.lstrip("/")) or app_name
        return cls(backend, driver, name, unquote(parts.username or "") or "dolmen")


@dataclass(frozen=True, slots=True)
class Deployment:
    """The app, environment and topology to deploy, with the image that runs every unit.

    ``spec`` is the ``package.module:attribute`` each container runs. The settings'
    values are never copied: only the shape they give (units, replicas, transport,
    database kind) is, and every secret comes from where the deployment keeps them.
    """

    app: str
    spec: str
    environment: str
    topology: Topology
    transport: Transport
    database: Database
    image: str
    build: str | None = None
    secret: bool = False
    """Whether the units need ``[units] secret`` (they call each other, or it is set)."""

    @classmethod
    def plan(
        cls,
        *,
        app: str,
        spec: str,
        environment: str,
        settings: UnitsSettings,
        modules: Sequence[PlacedModule],
        database_url: str,
        image: str | None = None,
        build: str | None = None,
    ) -> Deployment:
        """The deployment of the units ``settings`` declare for ``modules``.

        TopologyError lists what does not fit the modules, DeployError what else stands in
        the way. The ``[units]`` secret and the broker's URL need not be set: the
        deployment provides them (see :func:`deployed_topology`).
        """
        topology = deployed_topology(settings, modules)
        return cls(
            app=app,
            spec=spec,
            environment=environment,
            topology=topology,
            transport=settings.transport,
            database=Database.of_url(database_url, app),
            image=image or f"{dns_label(app)}:latest",
            build=build,
            secret=bool(topology.calls) or settings.secret is not None,
        )

    @property
    def requirement(self) -> str:
        """What the image installs of Dolmen: ``dolmen[postgres,rabbitmq,fast]``, say.

        The extras the database and the transport need, and ``fast`` (uvloop and httptools,
        which ``dolmen run`` serves with once installed).
        """
        extras = ["postgres"] if self.database.backend == "postgresql" else []
        if self.transport != "database":
            extras.append(self.transport)
        return f"dolmen[{','.join([*extras, 'fast'])}]"

    @property
    def units(self) -> tuple[Unit, ...]:
        """The units, sorted by name: the order of the services in every file."""
        return tuple(sorted(self.topology.units, key=lambda u: u.name))

    def run_command(self, unit: Unit) -> list[str]:
        """``dolmen run`` for ``unit``: only its modules when the app is split."""
        command = ["dolmen", "run", self.spec]
        if self.topology.split:
            command += ["--unit", unit.name]
        return [
            *command,
            "--host",
            "0.0.0.0",
            "--port",
            str(PORT),
        ]  # all of the container

    def migrate_command(self) -> list[str]:
        """``dolmen db upgrade``: every module's migrations, before the units start."""
        return ["dolmen", "db", "upgrade", "--app", self.spec]

    def current(self, unit: Unit) -> dict[str, str]:
        """The variable naming the unit a process runs (none for an app of one unit)."""
        return {"DOLMEN__UNITS__CURRENT": unit.name} if self.topology.split else {}


def deployed_topology(settings: UnitsSettings, modules: Sequence[PlacedModule]) -> Topology:
    """The topology of the deployed processes, checked as ``dolmen run`` checks it.

    Where the files are written, the ``[units]`` secret and the broker's URL are often not
    known (they live where the deployment keeps its secrets): stand-ins take their place for
    the checks, never written. No unit is chosen: the files run every unit.
    """
    update: dict[str, object] = {"current": None}
    if settings.secret is None:
        update["secret"] = SecretStr("stand-in for the deployment's secret, never written")
    if settings.transport != "database" and settings.broker_url is None:
        update["broker_url"] = f"{settings.transport}://stand-in-for-the-deployments-broker"
    return Topology.of(settings.model_copy(update=update), modules)


def dns_label(name: str) -> str:
    """``name`` as a DNS label (a service or resource name): lower case, letters, digits, '-'."""
    label = _DNS_LABEL.sub("-", name.lower()).strip("-")
    return label[:63].rstrip("-") or "app"


def unit_url_variable(unit: Unit) -> str:
    """The variable that sets where the other units reach ``unit``."""
    return f"DOLMEN__UNITS__UNIT__{unit.name.upper()}__URL"
