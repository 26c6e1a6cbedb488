"""``dolmen events stats`` and ``dolmen events dlq ...`` on a real outbox."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.cli.dolmen_runner import dolmen

from .ledger_app import Behaviour, Ledger, make_app

APP = ["--app", "tests.integration.events.ledger_cli_app:app", "--app-dir", "."]


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


def test_an_empty_outbox_says_so(tmp_path: Path) -> None:
    env = {"LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    assert dolmen("events", "stats", *APP, env=env).stdout.strip() == (
        "no deliveries waiting, running or dead"
    )
    assert dolmen("events", "dlq", "list", *APP, env=env).stdout.strip() == "no dead letters"


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
