"""After start-up the app freezes what is alive out of the collector's full passes, once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import asyncio, gc, sys
from dolmen import App, Module

freezes = []
real_freeze = gc.freeze
gc.freeze = lambda: (freezes.append(1), real_freeze())[1]

async def main():
    first = App("first", [Module("notes")], config={"app": {
        "database_url": "sqlite://", "gc_freeze": sys.argv[1] == "true"}})
    async with first.running():
        frozen, first_freezes = gc.get_freeze_count(), len(freezes)
    second = App("second", [Module("notes")], config={"app": {"database_url": "sqlite://"}})
    async with second.running():
        print(frozen, first_freezes, len(freezes))

asyncio.run(main())
"""


@pytest.mark.parametrize("setting", ["true", "false"])
def test_gc_freeze_freezes_once_per_process_unless_turned_off(setting: str, tmp_path: Path) -> None:
    # A process of its own: freezing is for the whole interpreter, and this one is pytest's.
    done = subprocess.run([sys.executable, "-c", SCRIPT, setting], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    frozen, first_freezes, freezes = (int(n) for n in done.stdout.split())
    if setting == "true":
        assert frozen > 10_000  # the imported code and the app: everything then alive
        assert (first_freezes, freezes) == (1, 1)  # the second app froze nothing more
    else:
        assert (frozen, first_freezes) == (0, 0)
        assert freezes == 1  # a later app with the default setting does


CHECK_THEN_SERVE = """
import asyncio, gc
from dolmen import App, Module

async def main():
    app = App("shop", [Module("notes")], config={"app": {"database_url": "sqlite://"}})
    await app.start(serving=False)  # what `dolmen run` does before uvicorn starts the app
    await app.stop()
    checked = gc.get_freeze_count()
    async with app.running():
        print(checked, gc.get_freeze_count())

asyncio.run(main())
"""


def test_a_start_that_only_checks_leaves_the_freeze_to_the_serving_start(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", CHECK_THEN_SERVE], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    checked, served = (int(n) for n in done.stdout.split())
    assert checked == 0  # the check froze nothing: what the server builds next is frozen too
    assert served > 10_000
