"""``dolmen events stats`` and ``dolmen events dlq ...`` on a real outbox, and on none."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import service_url
from tests.dolmen_runner import EXAMPLES, dolmen

from .ledger_app import Behaviour, Ledger, make_app

APP = ["--app", "tests.integration.events.ledger_cli_app:app", "--app-dir", "."]
SHOP = ["--app", "shop.app:app", "--app-dir", str(EXAMPLES)]
SECRET = "s3cr3t-pw"
ADMIN_COMMANDS = [
    ["events", "stats"],
    ["events", "stats", "--json"],
    ["events", "dlq", "list", "--json"],
    ["events", "dlq", "show", "1"],
    ["events", "dlq", "replay", "--all"],
    ["events", "dlq", "discard", "--all"],
]


async def test_dead_letters_are_listed_shown_replayed_and_discarded(sqlite_url: str) -> None:
    behaviour = Behaviour(refuse={"zed", "yan"})
    app = make_app(sqlite_url, behaviour)
    async with app.running():
        for account in ("zed", "yan"):
            async with app.unit_of_work("ledger") as work:
                await (await work.get(Ledger)).deposit(account, 3)
        await app.drain_events()
    env = {"LEDGER_DATABASE_URL": sqlite_url}

    stats = dolmen("events", "stats", "--json", *APP, env=env)
    assert stats.returncode == 0, stats.stderr
    assert {(s["handler"], s["dead"], s["pending"]) for s in json.loads(stats.stdout)} == {
        ("tally.count_deposit", 2, 0), ("tally.ordered_deposit", 2, 0),
    }  # fmt: skip

    listed = dolmen("events", "dlq", "list", "--handler", "tally.count_deposit", "--json", *APP,
                    env=env)  # fmt: skip
    dead = json.loads(listed.stdout)
    assert [(d["handler"], d["subject"], d["attempts"]) for d in dead] == [
        ("tally.count_deposit", "zed", 1), ("tally.count_deposit", "yan", 1),
    ]  # fmt: skip
    assert dead[0]["error"] == "Refused: account zed is closed"
    table = dolmen("events", "dlq", "list", *APP, env=env).stdout
    assert "Refused: account zed is closed" in table
    assert len(table.splitlines()) == 5  # a header and four dead letters

    shown = dolmen("events", "dlq", "show", str(dead[0]["id"]), *APP, env=env)
    assert shown.returncode == 0, shown.stderr
    assert '"type": "ledger.Deposited"' in shown.stdout
    assert '"account": "zed"' in shown.stdout
    assert "Traceback (most recent call last)" in shown.stdout
    missing = dolmen("events", "dlq", "show", "99999", *APP, env=env)
    assert missing.returncode == 1
    assert "no dead letter 99999" in missing.stderr

    nothing = dolmen("events", "dlq", "replay", *APP, env=env)
    assert nothing.returncode == 2
    assert "say which dead letters" in nothing.stderr
    both = dolmen("events", "dlq", "discard", "--all", "--handler", "x", *APP, env=env)
    assert both.returncode == 2
    assert "--all selects every dead letter: give it alone" in both.stderr
    replayed = dolmen("events", "dlq", "replay", str(dead[0]["id"]), *APP, env=env)
    assert replayed.stdout.strip() == "1 dead letter back in the outbox"
    discarded = dolmen("events", "dlq", "discard", "--type", "ledger.Deposited", *APP, env=env)
    assert discarded.stdout.strip() == "3 dead letters discarded"

    behaviour.refuse.clear()
    app = make_app(sqlite_url, behaviour)
    async with app.running():  # a running app delivers the replayed one
        await app.drain_events()
        assert await app.events.dead_letters() == []
        assert await app.events.stats() == []
    assert behaviour.tries["count:zed"] == 2


async def test_an_empty_outbox_says_so(sqlite_url: str) -> None:
    async with make_app(sqlite_url, Behaviour()).running():
        pass  # the app creates its tables at its first start
    env = {"LEDGER_DATABASE_URL": sqlite_url}
    assert dolmen("events", "stats", *APP, env=env).stdout.strip() == (
        "no deliveries waiting, running or dead"
    )
    assert dolmen("events", "dlq", "list", *APP, env=env).stdout.strip() == "no dead letters"


async def test_stats_show_the_deliveries_no_running_process_can_handle_as_unhandled(
    sqlite_url: str,
) -> None:
    app = make_app(sqlite_url, Behaviour(), dispatch=False)
    async with app.running(), app.unit_of_work("ledger") as work:
        await (await work.get(Ledger)).deposit("ada", 3)  # nobody delivers it
    env = {"LEDGER_DATABASE_URL": sqlite_url}

    table = dolmen("events", "stats", *APP, env=env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "handler", "pending", "in", "flight", "retrying", "dead", "oldest", "pending", "running",
        "in",
    ]  # fmt: skip
    assert re.fullmatch(r"tally.count_deposit +1 +0 +0 +0 +\d+\.\d s +unhandled", lines[1])
    assert re.fullmatch(
        r"unhandled: no running process has tally.count_deposit; its 1 delivery waits \(the "
        r"oldest for \d+\.\d s\): start a process whose app holds module 'tally'",
        lines[3],
    )
    found = json.loads(dolmen("events", "stats", "--json", *APP, env=env).stdout)
    assert [(s["handler"], s["pending"], s["dispatchers"], s["unhandled"]) for s in found] == [
        ("tally.count_deposit", 1, 0, True), ("tally.ordered_deposit", 1, 0, True),
    ]  # fmt: skip


def with_password(url: str) -> str:
    """``url`` with a password (the test server trusts local connections: never checked)."""
    if make_url(url).get_backend_name() == "sqlite":
        return url
    return make_url(url).set(password=SECRET).render_as_string(hide_password=False)


async def test_an_admin_command_names_the_app_and_database_it_reads_first(
    database_url: str,
) -> None:
    async with make_app(database_url, Behaviour()).running():
        pass
    env = {"LEDGER_DATABASE_URL": with_password(database_url)}
    stats = dolmen("events", "stats", "--json", *APP, env=env)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout) == []  # the header goes to stderr: --json stays parseable
    masked = make_url(with_password(database_url)).render_as_string(hide_password=True)
    assert stats.stderr.splitlines() == [
        f"app ledger (tests.integration.events.ledger_cli_app:app), database {masked}"
    ]
    assert SECRET not in stats.stderr


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=" ".join)
def test_an_admin_command_on_a_missing_database_is_an_error_and_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    result = dolmen(*command, *SHOP, cwd=tmp_path)  # the shop's default: ./var/shop.db
    url = f"sqlite:///{tmp_path / 'var' / 'shop.db'}"
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"app shop (shop.app:app), database {url}",
        f"Error: no database at {url}; start the app once (dolmen run shop.app:app) or set "
        "DOLMEN_DATABASE_URL to the database it uses",
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=" ".join)
def test_an_admin_command_on_a_postgres_database_without_dolmen_tables_is_an_error(
    command: list[str], postgres_url: str, tmp_path: Path
) -> None:
    url = with_password(postgres_url)
    masked = make_url(url).render_as_string(hide_password=True)
    result = dolmen(*command, *SHOP, cwd=tmp_path, env={"DOLMEN_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"app shop (shop.app:app), database {masked}",
        f"Error: the database {masked} has no Dolmen outbox (dolmen__deliveries); start the "
        "app once (dolmen run shop.app:app) or set DOLMEN_DATABASE_URL to the database it uses",
    ]
    assert asyncio.run(schemas_and_tables(postgres_url)) == ([], [])


@pytest.mark.postgres
def test_an_admin_command_on_a_missing_postgres_database_is_an_error(tmp_path: Path) -> None:
    url = make_url(with_password(service_url("DOLMEN_TEST_POSTGRES_URL")))
    missing = url.set(database=f"dolmen_missing_{uuid.uuid4().hex[:12]}")
    masked = missing.render_as_string(hide_password=True)
    env = {"DOLMEN_DATABASE_URL": missing.render_as_string(hide_password=False)}
    result = dolmen("events", "dlq", "list", *SHOP, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.splitlines()[1] == (
        f"Error: PostgreSQL has no database {missing.database!r} ({masked}); create it and "
        "start the app once (dolmen run shop.app:app), or set DOLMEN_DATABASE_URL to the "
        "database the app uses"
    )
    assert SECRET not in result.stderr


async def schemas_and_tables(url: str) -> tuple[list[str], list[str]]:
    """The schemas other than PostgreSQL's own, and the tables of ``public``."""
    engine = create_async_engine(make_url(url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as connection:
            schemas = await connection.scalars(
                text(
                    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' "
                    "AND nspname NOT IN ('information_schema', 'public')"
                )
            )
            found = list(schemas)
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return found, tables


def test_the_events_lock_is_written_and_checked(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.dolmen]\napp = "tests.integration.events.ledger_cli_app:app"\napp-dir = "{repo}"\n'
    )
    env = {"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    missing = dolmen("events", "lock", "--check", cwd=tmp_path, env=env)
    assert missing.returncode == 1
    assert "does not exist; write it with: dolmen events lock" in missing.stderr
    written = dolmen("events", "lock", cwd=tmp_path, env=env)
    assert written.stdout.strip() == "wrote 1 event to events.lock.json", written.stderr
    lock = json.loads((tmp_path / "events.lock.json").read_text())
    assert lock["events"]["ledger.Deposited"]["version"] == 1
    assert set(lock["events"]["ledger.Deposited"]["schema"]["properties"]) == {"account", "amount"}
    assert dolmen("events", "lock", "--check", cwd=tmp_path, env=env).returncode == 0
    lock["events"]["ledger.Deposited"]["schema"]["properties"]["amount"]["type"] = "string"
    (tmp_path / "events.lock.json").write_text(json.dumps(lock))
    stale = dolmen("events", "lock", "--check", cwd=tmp_path, env=env)
    assert stale.returncode == 1
    assert "changed type from string to integer" in stale.stderr
    assert "events.lock.json is out of date; run: dolmen events lock" in stale.stderr
