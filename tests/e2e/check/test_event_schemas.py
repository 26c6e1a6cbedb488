"""``dolmen check`` compares the app's events with the events lock (rule ``event-schema``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.dolmen_runner import dolmen

from .test_answers import age, check

LEDGER = Path(__file__).resolve().parents[2] / "check_fixtures" / "ledger"
API = "src/ledger/orders/api.py"


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A Dolmen app with two events and their lock (tests/check_fixtures/ledger)."""
    target = tmp_path / "ledger"
    shutil.copytree(LEDGER, target, ignore=shutil.ignore_patterns("__pycache__", ".dolmen_cache"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def violations(root: Path) -> tuple[int, list[dict[str, object]]]:
    done = dolmen("check", str(root), "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)["violations"]


def test_the_ledger_matches_its_lock(ledger: Path) -> None:
    assert violations(ledger) == (0, [])


def test_a_breaking_change_fails_until_the_version_is_bumped_with_an_upcaster(
    ledger: Path,
) -> None:
    api = ledger / API
    edit(api, "    total: int\n", "    total: str\n")
    code, found = violations(ledger)
    assert code == 1
    [violation] = found
    assert violation["rule"] == "event-schema"
    assert (violation["path"], violation["line"], violation["column"], violation["module"]) == (
        API, line_of(api, "class OrderPlaced("), 1, "orders",
    )  # fmt: skip
    assert "field `total` changed type from integer to string" in str(violation["message"])
    assert "@OrderPlaced.upcaster(from_version=1)" in str(violation["message"])
    text = dolmen("check", str(ledger)).stdout
    assert f"{API}:{line_of(api, 'class OrderPlaced(')}:1: event-schema: " in text

    edit(api, "class OrderPlaced(Event, version=1):", "class OrderPlaced(Event, version=2):")
    code, found = violations(ledger)
    assert code == 1
    assert "register @OrderPlaced.upcaster(from_version=1)" in str(found[0]["message"])

    api.write_text(
        api.read_text()
        + "\n\n@OrderPlaced.upcaster(from_version=1)\n"
        + "def total_as_text(data: dict) -> dict:\n"
        + '    return {**data, "total": str(data["total"])}\n'
    )
    assert violations(ledger) == (0, [])


def test_an_event_gone_from_the_code_is_reported_at_its_entry_in_the_lock(ledger: Path) -> None:
    edit(ledger / API, "class OrderCancelled(Event, version=1):", "class _Gone:")
    code, [violation] = violations(ledger)
    assert code == 1
    lock = ledger / "events.lock.json"
    assert (violation["path"], violation["line"], violation["module"]) == (
        "events.lock.json", line_of(lock, '"orders.OrderCancelled": {'), "orders",
    )  # fmt: skip
    assert "dead letters" in str(violation["message"])


def test_a_suppression_with_a_reason_accepts_a_breaking_change(ledger: Path) -> None:
    edit(
        ledger / API,
        "class OrderPlaced(Event, version=1):",
        "class OrderPlaced(Event, version=1):  # dolmen: ignore[event-schema] never stored yet",
    )
    edit(ledger / API, "    total: int\n", "    total: str\n")
    assert violations(ledger) == (0, [])


def test_an_app_that_cannot_be_imported_is_a_configuration_error(ledger: Path) -> None:
    edit(ledger / "src/ledger/app.py", "from dolmen import App\n", "import ledger_helpers\n")
    done = dolmen("check", str(ledger))
    assert done.returncode == 2
    assert "cannot import the app 'ledger.app:app'" in done.stderr
    assert "ModuleNotFoundError: No module named 'ledger_helpers'" in done.stderr


def test_without_a_lock_or_with_the_rule_ignored_the_app_is_not_imported(ledger: Path) -> None:
    edit(ledger / "src/ledger/app.py", "from dolmen import App\n", "raise SystemExit(3)\n")
    assert dolmen("check", str(ledger)).returncode == 2  # imported: it fails
    pyproject = ledger / "pyproject.toml"
    edit(pyproject, "[tool.dolmen.check]\n", '[tool.dolmen.check]\nignore = ["event-schema"]\n')
    assert dolmen("check", str(ledger)).returncode == 0
    edit(pyproject, 'ignore = ["event-schema"]\n', "")
    (ledger / "events.lock.json").unlink()
    assert dolmen("check", str(ledger)).returncode == 0


def test_a_lock_without_an_app_is_a_configuration_error(ledger: Path) -> None:
    edit(ledger / "pyproject.toml", 'app = "ledger.app:app"\n', "")
    done = dolmen("check", str(ledger))
    assert done.returncode == 2
    assert "events.lock.json exists but [tool.dolmen] in pyproject.toml has no app" in done.stderr


def test_an_edited_lock_is_never_answered_from_the_last_run(ledger: Path) -> None:
    age(ledger)
    assert check(ledger)[0].returncode == 0
    again, replayed = check(ledger)
    assert (again.returncode, replayed) == (0, True)
    lock = ledger / "events.lock.json"
    document = json.loads(lock.read_text())
    document["events"]["orders.OrderPlaced"]["version"] = 2
    lock.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")  # no folder changes
    edited, replayed = check(ledger)
    assert (edited.returncode, replayed) == (1, False)
    assert "is at version 1 but the lock has version 2" in edited.stdout
