"""``dolmen units APP`` (the topology) and what ``dolmen run --unit NAME`` checks first."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from dolmen.modules import App, Module
    from dolmen.units import Topology, UnitsSettings

CURRENT_VARIABLE = "DOLMEN__UNITS__CURRENT"
"""The variable ``--unit`` sets: read by this process and inherited by its workers."""


@click.command("units")
@click.argument("app_spec", metavar="APP")
@click.option("--json", "as_json", is_flag=True, help="Print the topology as JSON.")
@click.option(
    "--env",
    "environment",
    default=None,
    help="Configuration environment (reads dolmen.<env>.toml) [default: DOLMEN_ENV, else dev].",
)
@click.option(
    "--app-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder put first on the import path to find APP.",
)
def units_command(app_spec: str, as_json: bool, environment: str | None, app_dir: str) -> None:
    """Print APP's deployment units and how they reach each other.

    Each unit with its modules, routes, event handlers and url; then the calls across
    units (over HTTP) and the events across units (through the transport).
    """
    from dolmen.cli._project import find_app
    from dolmen.units import Topology, UnitsSettings

    app = find_app(app_spec, app_dir)
    config = app.load_config(environment=environment)
    settings = config.section("units")
    assert isinstance(settings, UnitsSettings)  # the Units extension's section
    topology = Topology.of(settings, app.modules)
    described = describe(app, topology, settings)
    click.echo(json.dumps(described, indent=2) if as_json else render(described))


def use_unit(app: App, unit: str) -> None:
    """Run only ``unit`` of ``app`` here and in every worker; refuse a unit it does not declare."""
    from dolmen.units import UnitsSettings

    previous = os.environ.get(CURRENT_VARIABLE)
    os.environ[CURRENT_VARIABLE] = unit
    settings = app.load_config().section("units")
    assert isinstance(settings, UnitsSettings)  # the Units extension's section
    problem = None
    if unit not in settings.unit:
        declared = ", ".join(sorted(settings.unit)) or "none"
        problem = (
            f"--unit {unit}: app {app.name!r} declares no unit {unit!r} (its units: "
            f"{declared}); declare it in [units.unit.{unit}] with its modules, or pick one "
            f"of those (`dolmen units` prints them)"
        )
    elif settings.current != unit:
        problem = (
            f"--unit {unit} cannot change [units] current = {settings.current!r}, set in code "
            f"(App(config=...)) for app {app.name!r}; drop one of them"
        )
    if problem is not None:
        if previous is None:
            del os.environ[CURRENT_VARIABLE]
        else:
            os.environ[CURRENT_VARIABLE] = previous
        raise click.UsageError(problem)


def describe(app: App, topology: Topology, settings: UnitsSettings) -> dict[str, Any]:
    """The topology as data: units with their modules, routes and handlers; the crossings."""
    modules = {m.name: m for m in app.modules}

    def unit_of(module: str) -> str | None:
        return topology.unit_of(module).name if module in modules else None

    units = [
        {
            "name": unit.name,
            "modules": list(unit.modules),
            "url": unit.url,
            "replicas": unit.replicas,
            "routes": [route for m in unit.modules for route in _routes(modules[m])],
            "handlers": [
                {"handler": s.name, "event": s.event_type.event_name}
                for s in app.subscriptions
                if s.module in unit.modules
            ],
        }
        for unit in topology.units
    ]
    calls = [
        {
            "caller": call.caller,
            "caller_unit": call.caller_unit,
            "target": call.target,
            "target_unit": call.target_unit,
            "url": topology.unit(call.target_unit).url,
        }
        for call in topology.calls
    ]
    events = [
        {
            "event": s.event_type.event_name,
            "from_unit": unit_of(s.event_type.owner_module()),
            "handler": s.name,
            "to_unit": unit_of(s.module),
        }
        for s in app.subscriptions
        if unit_of(s.event_type.owner_module()) != unit_of(s.module)
    ]
    return {
        "app": app.name,
        "current": topology.current,
        "transport": settings.transport,
        "broker_url": _masked(settings.broker_url),
        "units": units,
        "calls": calls,
        "events": events,
        "forwarding": _forwarding(events, settings),
    }


def _forwarding(events: list[dict[str, Any]], settings: UnitsSettings) -> list[dict[str, Any]]:
    """With a broker: per sending unit and event, the units it forwards to (one delivery each)."""
    from dolmen.units import broker_destination

    if settings.transport == "database":
        return []
    to_units: dict[tuple[str, str], set[str]] = {}
    for event in events:
        if event["from_unit"] is not None:
            to_units.setdefault((event["from_unit"], event["event"]), set()).add(event["to_unit"])
    return [
        {
            "from_unit": from_unit,
            "event": event,
            "to_units": sorted(units),
            "destinations": [
                broker_destination(settings.broker_namespace, u) for u in sorted(units)
            ],
        }
        for (from_unit, event), units in sorted(to_units.items())
    ]


def _routes(module: Module) -> list[dict[str, str]]:
    from fastapi.routing import APIRoute

    return [
        {"method": method, "path": module.prefix + route.path}
        for router in module.routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]


def _masked(url: str | None) -> str | None:
    from dolmen.config import mask_credentials

    return None if url is None else mask_credentials(url)


def render(described: dict[str, Any]) -> str:
    """The topology as text, one block per unit, then how the units reach each other."""
    units = described["units"]
    lines = [f"app {described['app']}: {len(units)} unit{'s' if len(units) != 1 else ''}"]
    for unit in units:
        where = f"url {unit['url']}" if unit["url"] else "no url"
        replicas = f"{unit['replicas']} replica{'s' if unit['replicas'] != 1 else ''}"
        lines += ["", f"unit {unit['name']} ({where}, {replicas})"]
        lines.append(f"  modules   {', '.join(unit['modules'])}")
        routes = [f"{r['method']} {r['path']}" for r in unit["routes"]]
        handlers = [f"{h['handler']} <- {h['event']}" for h in unit["handlers"]]
        lines += _listed("routes", routes) + _listed("handlers", handlers)
    if len(units) > 1:
        lines += ["", "calls across units (HTTP, signed with [units] secret):"]
        lines += [
            f"  {c['caller']} ({c['caller_unit']}) -> {c['target']} ({c['target_unit']}) "
            f"at {c['url']}"
            for c in described["calls"]
        ] or ["  none"]
        lines += ["", f"events across units ({_transport(described)}):"]
        lines += [
            f"  {e['event']}: {e['from_unit'] or 'outside the app'} -> {e['to_unit']} "
            f"({e['handler']})"
            for e in described["events"]
        ] or ["  none"]
        if described["forwarding"]:
            lines += ["", "forwarding (one delivery per event and unit, through the broker):"]
            lines += [
                f"  {f['from_unit']}: {f['event']} -> {unit} (destination {destination})"
                for f in described["forwarding"]
                for unit, destination in zip(f["to_units"], f["destinations"], strict=True)
            ]
    return "\n".join(lines)


def _listed(title: str, items: list[str]) -> list[str]:
    if not items:
        return [f"  {title:<9} none"]
    return [f"  {title:<9} {items[0]}", *(f"  {'':<9} {item}" for item in items[1:])]


def _transport(described: dict[str, Any]) -> str:
    if described["transport"] == "database":
        return "through the shared database: each unit claims its own handlers' deliveries"
    return f"through {described['transport']} at {described['broker_url']}"
