"""``dolmen deploy``: write a Docker Compose file or Kubernetes manifests for an app's units."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dolmen.cli._project import find_named_app

if TYPE_CHECKING:
    from dolmen.units.deploy import Deployment

F = TypeVar("F", bound=Callable[..., Any])


@click.group("deploy")
def deploy_group() -> None:
    """Write the files that deploy an app's units: Docker Compose, or Kubernetes manifests.

    They follow the [units] section of the environment's configuration (one service per
    unit, its replicas, the transport) and hold no secret value: each file says what to
    provide. The same configuration gives the same bytes, to commit and diff.
    """


def _common(command: F) -> F:
    """APP, --env, --image and --app-dir: what every ``dolmen deploy`` command reads."""
    for option in reversed(
        [
            click.argument("app_spec", metavar="[APP]", required=False),
            click.option(
                "--env",
                "environment",
                default=None,
                help="Environment whose configuration to deploy (dolmen.<env>.toml). "
                "Default: DOLMEN_ENV, or 'dev'.",
            ),
            click.option(
                "--image",
                default=None,
                help="The image every unit runs (the app, its configuration files and Dolmen). "
                "Default: <app name>:latest.",
            ),
            click.option(
                "--app-dir",
                default=None,
                type=click.Path(file_okay=False),
                help="Folder put first on the import path. Default: [tool.dolmen] app-dir, or '.'.",
            ),
        ]
    ):
        command = option(command)
    return command


@deploy_group.command("compose")
@_common
@click.option(
    "--build",
    default=None,
    metavar="DIR",
    help="Build the image from DIR (its Dockerfile) with `docker compose build`.",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="The file to write (compose.yaml), or - for standard output.",
)
def compose_command(
    app_spec: str | None,
    environment: str | None,
    image: str | None,
    app_dir: str | None,
    build: str | None,
    output: str,
) -> None:
    """A Docker Compose file: a service per unit, its broker and database, health-checked.

    Each unit runs `dolmen run APP --unit NAME` with its replicas (deploy.replicas), starts
    once the broker and PostgreSQL are healthy and the migrations applied, and is checked
    on /healthz. Passwords are ${VARIABLES}, the [units] secret a Compose secret.
    """
    from dolmen.units.deploy import compose_file, compose_header, dump_yaml

    deployment = _deployment(app_spec, app_dir, environment, image, build)
    text = _or_exit(lambda: dump_yaml(compose_file(deployment), compose_header(deployment)))
    _write(output, text)


@deploy_group.command("kubernetes")
@_common
@click.option("--namespace", default=None, help="The namespace of every resource. Default: none.")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="The folder to write one file per resource in, or - for standard output.",
)
def kubernetes_command(
    app_spec: str | None,
    environment: str | None,
    image: str | None,
    app_dir: str | None,
    namespace: str | None,
    output: str,
) -> None:
    """Kubernetes manifests: a Deployment and a Service per unit, and their ConfigMap.

    Probes on /healthz (liveness) and /readyz (readiness); the database URL, the broker's
    URL and the [units] secret come from a Secret you create (the files say how); the
    broker is expected to run already.
    """
    from dolmen.units.deploy import dump_yaml, kubernetes_header, kubernetes_manifests

    deployment = _deployment(app_spec, app_dir, environment, image, None)
    manifests = _or_exit(lambda: kubernetes_manifests(deployment, namespace))
    header = kubernetes_header(deployment)
    if output == "-":  # one stream of documents, the header once at the top
        documents = [dump_yaml(r, header if i == 0 else ()) for i, (_, r) in enumerate(manifests)]
        click.echo("---\n".join(documents), nl=False)
        return
    folder = Path(output)
    for name, resource in manifests:
        _write(str(folder / name), dump_yaml(resource, header))
    _remove_stale(folder, {name for name, _ in manifests}, header[0])


def _remove_stale(folder: Path, written: set[str], first_line: str) -> None:
    """Remove the files an earlier run wrote for units that are gone (and only those)."""
    for path in sorted(folder.glob("*.yaml")):
        if path.name in written:
            continue
        with path.open(encoding="utf-8") as file:
            if file.readline().rstrip("\n") == f"# {first_line}":
                path.unlink()
                click.echo(f"removed {path} (its unit is gone)", err=True)


def _deployment(
    app_spec: str | None,
    app_dir: str | None,
    environment: str | None,
    image: str | None,
    build: str | None,
) -> Deployment:
    """The app's deployment in ``environment``: its [units] checked, or the problems and exit 2."""
    from dolmen.config import AppSettings
    from dolmen.units import UnitsSettings
    from dolmen.units.deploy import Deployment

    app, spec = find_named_app(app_spec, app_dir)
    config = app.load_config(environment=environment)  # every App has the units extension
    settings = config.section("units")
    if not isinstance(settings, UnitsSettings):  # pragma: no cover - a section of another kind
        raise click.ClickException("the [units] section is not dolmen.units.UnitsSettings")
    app_settings = config.section("app")
    if not isinstance(app_settings, AppSettings):  # pragma: no cover - the schema puts it there
        raise click.ClickException("the [app] section is not dolmen.config.AppSettings")
    return _or_exit(
        lambda: Deployment.plan(
            app=app.name,
            spec=spec,
            environment=config.environment,
            settings=settings,
            modules=app.modules,
            database_url=app_settings.effective_database_url(app.name),
            image=image,
            build=build,
        )
    )


T = TypeVar("T")


def _or_exit(make: Callable[[], T]) -> T:
    """``make()``, or the problems it found (the topology's, the deployment's) and exit 2."""
    from dolmen.units import TopologyError
    from dolmen.units.deploy import DeployError

    try:
        return make()
    except (TopologyError, DeployError) as error:
        click.echo(str(error), err=True)
        sys.exit(2)


def _write(output: str, text: str) -> None:
    if output == "-":
        click.echo(text, nl=False)
        return
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise click.ClickException(
            f"cannot write {output}: {error.strerror or error}; choose another --output"
        ) from None
    click.echo(f"wrote {output}", err=True)
