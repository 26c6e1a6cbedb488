"""``compose_file``: a Docker Compose file running each unit as a service, beside its broker."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from dolmen.units._topology import Unit
from dolmen.units.deploy._brokers import BROKERS, Broker, required
from dolmen.units.deploy._plan import (
    FAST_NOTE,
    PORT,
    DeployError,
    Deployment,
    dns_label,
    unit_url_variable,
)

POSTGRES = "postgres"
MIGRATE = "migrate"
SECRETS_DIR = "/run/secrets"
UNITS_SECRET = "units__secret"
"""The secret's file name: Dolmen reads ``/run/secrets/units__secret`` as ``[units] secret``."""
SQLITE_DIR = "/data"
POSTGRES_PASSWORD = required("POSTGRES_PASSWORD", "set POSTGRES_PASSWORD: see the top of this file")
HEALTHZ = (
    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/healthz', timeout=2)"
)


def compose_file(deployment: Deployment) -> dict[str, Any]:
    """The Compose file of ``deployment``: keys sorted, services in a stable order.

    Each unit is a service running ``dolmen run APP --unit NAME`` with ``deploy.replicas``
    copies, health-checked on ``/healthz``; it starts once the database and the broker are
    healthy and ``dolmen db upgrade`` has run. No secret is written: the ``[units]`` secret is
    a Compose secret read from ``./secrets/units__secret``, passwords are ``${VARIABLES}``.
    """
    broker = BROKERS.get(deployment.transport)
    _check_names(deployment, broker)
    services: dict[str, Any] = {
        dns_label(unit.name): _unit_service(deployment, unit, broker, index)
        for index, unit in enumerate(deployment.units)
    }
    services[MIGRATE] = _migrate_service(deployment, broker)
    volumes: dict[str, Any] = {}
    if deployment.database.backend == "postgresql":
        services[POSTGRES] = _postgres_service(deployment)
        volumes[f"{POSTGRES}-data"] = {}
    else:
        volumes["data"] = {}
    if broker is not None:
        services[broker.service] = broker.compose_service()
        if broker.volume is not None:
            volumes[f"{broker.service}-data"] = {}
    document: dict[str, Any] = {"services": dict(sorted(services.items()))}
    if deployment.secret:
        document["secrets"] = {UNITS_SECRET: {"file": f"./secrets/{UNITS_SECRET}"}}
    document["volumes"] = dict(sorted(volumes.items()))
    return document


def compose_header(deployment: Deployment) -> list[str]:
    """The comment at the top of the file: what it runs, and what the user must provide."""
    lines = [
        f"Docker Compose file of {deployment.app}, environment {deployment.environment!r}: "
        f"written by `dolmen deploy compose`.",
        "Written again, it gives the same bytes: commit it, and review its diffs.",
        "",
        "Provide before `docker compose up`:",
        f"  - the image {deployment.image}, with the app, its dolmen.toml files and "
        f"{deployment.requirement}"
        + (f", built from {deployment.build}" if deployment.build else ""),
        f"    ({FAST_NOTE})",
    ]
    variables = []
    if deployment.database.backend == "postgresql":
        variables.append("POSTGRES_PASSWORD")
    broker = BROKERS.get(deployment.transport)
    if broker is not None:
        variables.extend(broker.variables)
    if variables:
        lines.append(
            f"  - {' and '.join(variables)}: in the environment or in .env beside this file "
            "(URL-safe: openssl rand -hex 24)"
        )
    if deployment.secret:
        lines.append(
            f"  - ./secrets/{UNITS_SECRET}: the [units] secret, at least 32 random characters "
            f"(openssl rand -hex 32 > secrets/{UNITS_SECRET})"
        )
    return lines


def _check_names(deployment: Deployment, broker: Broker | None) -> None:
    taken = {MIGRATE, POSTGRES, *(b.service for b in BROKERS.values())}
    problems = [
        f"unit {unit.name!r} takes the name of a service the Compose file runs beside the "
        f"units ({', '.join(sorted(taken))}); rename the unit"
        for unit in deployment.units
        if dns_label(unit.name) in taken
    ]
    if problems:
        raise DeployError(problems)


def _environment(deployment: Deployment, broker: Broker | None) -> dict[str, str]:
    """What every Dolmen process of the file shares: environment, database, broker, units."""
    database = deployment.database
    if database.backend == "postgresql":
        url = (
            f"{database.driver}://{quote(database.user, safe='')}:{POSTGRES_PASSWORD}"
            f"@{POSTGRES}:5432/{quote(database.name, safe='')}"
        )
    else:
        url = f"{database.driver}:///{SQLITE_DIR}/{database.name}"
    environment = {
        "DOLMEN_DATABASE_URL": url,
        "DOLMEN_ENV": deployment.environment,
        "DOLMEN__APP__SECRETS_DIR": SECRETS_DIR,
    }
    if deployment.topology.split:
        environment["DOLMEN__UNITS__TRANSPORT"] = deployment.transport
        for unit in deployment.units:
            environment[unit_url_variable(unit)] = f"http://{dns_label(unit.name)}:{PORT}"
    if broker is not None:
        environment["DOLMEN__UNITS__BROKER_URL"] = broker.url
    return environment


def _app_service(deployment: Deployment) -> dict[str, Any]:
    service: dict[str, Any] = {"image": deployment.image}
    if deployment.build is not None:
        service["build"] = {"context": deployment.build}
    if deployment.database.backend == "sqlite":
        service["volumes"] = [f"data:{SQLITE_DIR}"]
    return service


def _unit_service(
    deployment: Deployment, unit: Unit, broker: Broker | None, index: int
) -> dict[str, Any]:
    environment = _environment(deployment, broker)
    environment.update(deployment.current(unit))
    depends_on = {MIGRATE: {"condition": "service_completed_successfully"}}
    if broker is not None:
        depends_on[broker.service] = {"condition": "service_healthy"}
    if deployment.database.backend == "postgresql":
        depends_on[POSTGRES] = {"condition": "service_healthy"}
    for called in _called_first(deployment, unit):
        depends_on[dns_label(called)] = {"condition": "service_healthy"}
    service = _app_service(deployment)
    service.update(
        command=deployment.run_command(unit),
        depends_on=dict(sorted(depends_on.items())),
        deploy={"replicas": unit.replicas},
        environment=dict(sorted(environment.items())),
        healthcheck={
            "interval": "10s",
            "retries": 3,
            "start_period": "30s",
            "test": ["CMD", "python", "-c", HEALTHZ],
            "timeout": "5s",
        },
        restart="unless-stopped",
    )
    if unit.replicas == 1:  # one host port cannot go to several replicas
        service["ports"] = [f"{PORT + index}:{PORT}"]
    if deployment.secret:
        service["secrets"] = [UNITS_SECRET]
    return dict(sorted(service.items()))


def _called_first(deployment: Deployment, unit: Unit) -> list[str]:
    """The units ``unit`` calls, to start before it: all but those that call it back.

    Compose refuses a cycle of ``depends_on``; units that call each other start together,
    and their calls wait for the other (its readiness says so).
    """
    calls = {(c.caller_unit, c.target_unit) for c in deployment.topology.calls}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(target for caller, target in calls if caller == current)
        return False

    return sorted(
        target for caller, target in calls if caller == unit.name and not reaches(target, caller)
    )


def _migrate_service(deployment: Deployment, broker: Broker | None) -> dict[str, Any]:
    service = _app_service(deployment)
    service.update(
        command=deployment.migrate_command(),
        environment=dict(sorted(_environment(deployment, broker).items())),
        restart="no",
    )
    if deployment.database.backend == "postgresql":
        service["depends_on"] = {POSTGRES: {"condition": "service_healthy"}}
    return dict(sorted(service.items()))


def _postgres_service(deployment: Deployment) -> dict[str, Any]:
    database = deployment.database
    return {
        "environment": {
            "POSTGRES_DB": database.name,
            "POSTGRES_PASSWORD": POSTGRES_PASSWORD,
            "POSTGRES_USER": database.user,
        },
        "healthcheck": {
            "interval": "5s",
            "retries": 12,
            "start_period": "10s",
            "test": ["CMD", "pg_isready", "-U", database.user, "-d", database.name],
            "timeout": "5s",
        },
        "image": "postgres:16",
        "restart": "unless-stopped",
        "volumes": [f"{POSTGRES}-data:/var/lib/postgresql/data"],
    }
