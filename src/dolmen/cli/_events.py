"""``dolmen events``: statistics, dead letters (list, show, replay, discard), the schema lock."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dolmen.cli._project import app_options, find_app, find_named_app

if TYPE_CHECKING:
    from dolmen.events import DeadLetter, EventAdmin

T = TypeVar("T")


@click.group("events")
def events_group() -> None:
    """Event delivery: statistics, dead letters, and the events lock."""


@events_group.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@app_options
def stats(as_json: bool, app_spec: str | None, app_dir: str | None) -> None:
    """Pending, in flight, retrying and dead deliveries, and the oldest pending age, per handler.

    Also how many running processes (their dispatchers) have each handler: the deliveries
    of a handler none has are unhandled, waiting for a process whose app holds its module.
    In an app split in units, the unit that runs each handler (``to <unit>`` for the events
    waiting to be forwarded to that unit through the broker).
    """
    placed: dict[str, str] = {}
    found = _with_admin(
        app_spec,
        app_dir,
        lambda admin: admin.stats(),
        on_app=lambda app: placed.update(_units(app)),
    )
    if as_json:
        lines = [
            {**_plain(s), "unhandled": s.unhandled, "unit": placed.get(s.handler)} for s in found
        ]
        click.echo(json.dumps(lines, indent=2))
        return
    if not found:
        click.echo("no deliveries waiting, running or dead")
        return
    split = ("unit",) if placed else ()
    rows = [("handler", *split, "pending", "in flight", "retrying", "dead", "oldest pending",
             "running in")]  # fmt: skip
    for line in found:
        age = "-" if line.oldest_pending_age is None else f"{line.oldest_pending_age:.1f} s"
        running_in = "unhandled" if line.unhandled else _count(line.dispatchers, "process")
        unit = (placed.get(line.handler, "?"),) if placed else ()
        rows.append((line.handler, *unit, str(line.pending), str(line.in_flight),
                     str(line.retrying), str(line.dead), age, running_in))  # fmt: skip
    click.echo(_table(rows))
    for line in found:
        if line.unhandled:
            module = line.handler.partition(".")[0]
            click.echo(
                f"unhandled: no running process has {line.handler}; its {line.pending} "
                f"{'delivery waits' if line.pending == 1 else 'deliveries wait'} (the oldest "
                f"for {line.oldest_pending_age or 0.0:.1f} s): start a process whose app holds "
                f"module {module!r}"
            )
    if any(placed.get(line.handler, "").startswith("to ") for line in found):
        click.echo(
            "what waits on the broker for each unit: dolmen_units_broker_pending in a "
            "running unit's /metrics, or its dashboard"
        )


def _units(app: Any) -> dict[str, str]:
    """Per handler, the unit that runs it (``to <unit>`` for forwarding); empty if not split."""
    from dolmen.units import Topology, UnitsSettings, forward_handler

    settings = app.config.section("units")
    if not isinstance(settings, UnitsSettings):
        return {}
    topology = Topology.of(settings, app.modules)
    if not topology.split:
        return {}
    placed = {s.name: topology.unit_of(s.module).name for s in app.subscriptions}
    if settings.transport != "database":
        placed.update({forward_handler(u.name): f"to {u.name}" for u in topology.units})
    return placed


@events_group.group("dlq")
def dlq_group() -> None:
    """Dead letters: deliveries that failed for good, kept with their error."""


@dlq_group.command("list")
@click.option("--handler", default=None, help="Only this handler (module.function).")
@click.option("--type", "event_type", default=None, help="Only this event (module.Event).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@app_options
def list_dead(
    handler: str | None,
    event_type: str | None,
    limit: int,
    as_json: bool,
    app_spec: str | None,
    app_dir: str | None,
) -> None:
    """The dead letters, oldest first."""
    found = _with_admin(
        app_spec,
        app_dir,
        lambda admin: admin.dead_letters(handler=handler, event_type=event_type, limit=limit),
    )
    if as_json:
        click.echo(json.dumps([_dead(d, full=False) for d in found], indent=2))
        return
    if not found:
        click.echo("no dead letters")
        return
    rows = [("id", "handler", "event", "tries", "failed", "error")]
    for dead in found:
        failed = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(dead.failed_at))
        rows.append((str(dead.id), dead.handler, dead.event_type, str(dead.attempts), failed,
                     _first_line(dead.error, 60)))  # fmt: skip
    click.echo(_table(rows))


@dlq_group.command()
@click.argument("delivery", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@app_options
def show(delivery: int, as_json: bool, app_spec: str | None, app_dir: str | None) -> None:
    """One dead letter: its event, error and traceback."""
    dead = _with_admin(app_spec, app_dir, lambda admin: admin.dead_letter(delivery))
    if dead is None:
        raise click.ClickException(f"no dead letter {delivery}; see: dolmen events dlq list")
    if as_json:
        click.echo(json.dumps(_dead(dead, full=True), indent=2))
        return
    for key, value in _dead(dead, full=True).items():
        if key in ("traceback", "event"):
            continue
        click.echo(f"{key}: {value}")
    click.echo("event:")
    click.echo(json.dumps(_dead(dead, full=True)["event"], indent=2))
    if dead.traceback:
        click.echo("traceback:")
        click.echo(dead.traceback.rstrip())


def _selection_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--all", "everything", is_flag=True, help="Every dead letter.")(command)
    command = click.option("--type", "event_type", default=None, help="Of this event.")(command)
    command = click.option("--handler", default=None, help="Of this handler.")(command)
    return click.argument("ids", nargs=-1, type=int)(command)


@dlq_group.command()
@_selection_options
@app_options
def replay(
    ids: tuple[int, ...],
    handler: str | None,
    event_type: str | None,
    everything: bool,
    app_spec: str | None,
    app_dir: str | None,
) -> None:
    """Deliver dead letters again (by IDS, --handler, --type or --all), tries counted afresh.

    A running app delivers them; this command only puts them back in the outbox.
    """
    count = _on_dead_letters(
        lambda admin: admin.replay, ids, handler, event_type, everything, app_spec, app_dir
    )
    click.echo(f"{_count(count, 'dead letter')} back in the outbox")


@dlq_group.command()
@_selection_options
@app_options
def discard(
    ids: tuple[int, ...],
    handler: str | None,
    event_type: str | None,
    everything: bool,
    app_spec: str | None,
    app_dir: str | None,
) -> None:
    """Delete dead letters for good (by IDS, --handler, --type or --all)."""
    count = _on_dead_letters(
        lambda admin: admin.discard, ids, handler, event_type, everything, app_spec, app_dir
    )
    click.echo(f"{_count(count, 'dead letter')} discarded")


def _on_dead_letters(
    operation: Callable[[EventAdmin], Callable[..., Awaitable[int]]],
    ids: tuple[int, ...],
    handler: str | None,
    event_type: str | None,
    everything: bool,
    app_spec: str | None,
    app_dir: str | None,
) -> int:
    """Check the selection (as the command line names it), then run ``operation`` on it."""
    if not (ids or handler or event_type or everything):
        raise click.UsageError("say which dead letters: IDS, --handler, --type, or --all")
    if everything and (ids or handler or event_type):
        raise click.UsageError("--all selects every dead letter: give it alone")
    return _with_admin(
        app_spec,
        app_dir,
        lambda admin: operation(admin)(
            *ids, handler=handler, event_type=event_type, everything=everything
        ),
    )


def _with_admin(
    app_spec: str | None,
    app_dir: str | None,
    action: Callable[[EventAdmin], Awaitable[T]],
    *,
    on_app: Callable[[Any], None] | None = None,
) -> T:
    """Say which app and database, run ``action`` on the admin API of its existing outbox.

    The app is not started (no hook runs, nothing is delivered), and nothing is created: a
    missing database is an error with exit 2 (see :mod:`dolmen.cli._admin`).
    """
    import asyncio  # 15 ms: only for the commands that need it

    from dolmen.cli._admin import open_outbox, say_what_is_read

    app, spec = find_named_app(app_spec, app_dir)
    say_what_is_read(app, spec)
    if on_app is not None:
        on_app(app)

    async def run() -> T:
        async with open_outbox(app, spec) as admin:
            return await action(admin)

    return asyncio.run(run())


def _dead(dead: DeadLetter, *, full: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": dead.id,
        "handler": dead.handler,
        "event_type": dead.event_type,
        "attempts": dead.attempts,
        "failed_at": dead.failed_at,
        "error": dead.error,
    }
    if dead.envelope is not None:
        found["event_id"] = dead.envelope.id
        found["subject"] = dead.envelope.subject
    if full:
        found["event"] = dead.envelope.cloudevent() if dead.envelope else None
        found["traceback"] = dead.traceback
    return found


def _plain(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


def _first_line(text: str, width: int) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@events_group.command()
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 if stale.")
@click.option(
    "--output",
    default=None,
    type=click.Path(dir_okay=False),
    help="The lock file. Default: [tool.dolmen.check] events-lock, or events.lock.json.",
)
@app_options
def lock(check_only: bool, output: str | None, app_spec: str | None, app_dir: str | None) -> None:
    """Write every event's name, version, JSON schema and upcasters to the events lock.

    Commit the file: `dolmen check` then fails on an incompatible change to an event made
    without a new version and its upcaster.
    """
    from dolmen._pyproject import tool_dolmen
    from dolmen.check import DEFAULT_EVENTS_LOCK
    from dolmen.events.lock import compare, event_classes, read_lock, stale, write_lock

    settings = tool_dolmen(Path("pyproject.toml")).get("check", {})
    target = Path(output or settings.get("events-lock", DEFAULT_EVENTS_LOCK))
    classes = event_classes(find_app(app_spec, app_dir).modules)
    if check_only:
        if not target.is_file():
            raise click.ClickException(
                f"{target} does not exist; write it with: dolmen events lock"
            )
        locked = read_lock(target)
        if stale(locked, classes):
            problems = compare(locked, classes)
            for problem in problems:
                click.echo(f"{problem.event}: {problem.message}", err=True)
            click.echo(f"{target} is out of date; run: dolmen events lock", err=True)
            sys.exit(1)
        click.echo(f"{target} is up to date ({_count(len(classes), 'event')})")
        return
    if target.is_file():
        problems = compare(read_lock(target), classes)
        for problem in problems:
            click.echo(f"warning: {problem.event}: {problem.message}", err=True)
    write_lock(target, classes)
    click.echo(f"wrote {_count(len(classes), 'event')} to {target}")


def _count(number: int, noun: str) -> str:
    plural = "es" if noun.endswith("s") else "s"
    return f"{number} {noun}{'' if number == 1 else plural}"
