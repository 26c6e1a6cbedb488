"""The order the test files run in across pytest-xdist processes: the longest first.

``./scripts/test`` runs the suite in processes (``-n N --dist loadscope
--no-loadscope-reorder``): each test file goes whole to one process, in the order of the
collection, the next file to the first process that runs out of work. A long file given
out last keeps one process busy while the others have finished (the crash test, about
100 s, used to run after everything else). So the files are collected longest first
(longest-processing-time-first scheduling): the short ones then fill in at the end.

A file's time is the figure below when it has one (seconds on a quiet 2-core machine,
rounded; only the order matters, so an old figure costs some balance, never a test), else
:data:`SECONDS_PER_TEST` per test.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

SECONDS = {
    "tests/e2e/test_crash_recovery.py": 50,
    "tests/e2e/test_new_project.py": 48,
    "tests/e2e/units/test_shop_http_split.py": 39,
    "tests/e2e/units/test_units_kill.py": 31,
    "tests/docs/test_docs_examples.py": 37,
    "tests/integration/events/test_events_cli.py": 36,
    "tests/integration/units/test_shop_over_broker.py": 32,
    "tests/e2e/units/test_units_over_broker.py": 30,
    "tests/e2e/cli/test_deploy_cli.py": 30,
    "tests/e2e/test_api_schema.py": 24,
    "tests/integration/events/test_durable_events.py": 24,
    "tests/integration/test_concurrent_start.py": 22,
    "tests/e2e/dashboard/test_dashboard_browser.py": 16,
    "tests/e2e/test_metrics_workers.py": 14,
    "tests/e2e/cli/test_config_cli.py": 13,
    "tests/e2e/test_shop_hostile_input.py": 13,
    "tests/e2e/dashboard/test_dashboard_workers.py": 13,
    "tests/integration/units/test_broker_lag.py": 12,
    "tests/e2e/units/test_units_in_processes.py": 12,
    "tests/e2e/check/test_event_schemas.py": 11,
    "tests/integration/units/test_calls_across_units.py": 11,
    "tests/e2e/units/test_units_processes.py": 10,
}
"""The files that take 10 s or more, and about how long each takes."""
SECONDS_PER_TEST = 0.06
"""About how long any other test takes (most are unit tests)."""


def file_of(item: pytest.Item) -> str:
    """The test file of ``item``, as in its node id (``tests/unit/test_x.py``)."""
    return item.nodeid.split("::", 1)[0]


def longest_files_first(items: Sequence[pytest.Item]) -> list[pytest.Item]:
    """``items`` with their files longest first; each file's tests stay together and in
    their order (pytest's grouping by fixture, a topology's tests one after the other)."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(file_of(item), []).append(item)

    def seconds(name: str) -> float:
        return SECONDS.get(name, SECONDS_PER_TEST * len(files[name]))

    ordered = sorted(files, key=seconds, reverse=True)  # stable: ties keep their order
    return [item for name in ordered for item in files[name]]
