"""Several processes start the same app together on a fresh database (workers, replicas).

Each creates the modules' missing schemas and tables and, on PostgreSQL, the outbox's NOTIFY
trigger. ``CREATE ... IF NOT EXISTS`` is not safe when two transactions run it at once on
PostgreSQL: without Dolmen's lock on schema changes, most rounds of four processes saw one of
them die on a unique key of the catalog. Every round starts them on a new database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTER = Path(__file__).with_name("start_shop_once.py")
PROCESSES = 4
TIMEOUT = 120.0


def start_together(database_url: str, folder: Path, count: int) -> list[tuple[int, str]]:
    """Start the shop in ``count`` processes at once; each one's exit code and output."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DOLMEN_") or name.startswith("DOLMEN_TEST_")
    }
    env.update(DOLMEN_DATABASE_URL=database_url, PYTHONPATH=str(REPO / "examples"))
    processes = [
        subprocess.Popen(
            [sys.executable, str(STARTER)],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for process in processes:  # each has built the app and waits for the signal
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line == "ready\n", line + process.stdout.read()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        return [(p.wait(TIMEOUT), p.communicate()[0]) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_processes_starting_together_on_a_fresh_database_all_start(
    database_url: str, tmp_path: Path, round_: int
) -> None:
    outcomes = start_together(database_url, tmp_path, PROCESSES)
    failed = [output for code, output in outcomes if code != 0]
    assert not failed, (
        f"round {round_}: {len(failed)} of {PROCESSES} processes failed to start; the first "
        f"one's output:\n{failed[0]}"
    )
    assert all("started and stopped" in output for _, output in outcomes)
