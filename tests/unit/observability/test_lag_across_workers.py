"""The broker lag gauges with ``dolmen run --workers N``: ``/metrics`` shows one value per series.

Each worker measures the same lag and writes it to its file in the shared folder
(``PROMETHEUS_MULTIPROC_DIR``); whichever worker answers ``/metrics`` reads every file. Two
workers are played here by one process whose prometheus_client writes under a worker id the
test switches (prometheus_client's own tests do the same), so no process is started.
"""

from __future__ import annotations

import gc
import math
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from prometheus_client import values

from dolmen.observability._metrics import Metrics, exposition
from dolmen.units import Backlog, Forwarding, UnitLag
from tests.lag_gauges import Series, lag_gauges


class Workers:
    """Worker processes sharing one metrics folder, played in turn by this one."""

    def __init__(self) -> None:
        self.current = 0
        self.metrics: dict[int, Metrics] = {}

    def report(self, worker: int, lag: UnitLag) -> None:
        """What worker ``worker``'s sampler writes after measuring ``lag``."""
        self.current = worker
        self.metrics.setdefault(worker, Metrics()).units_lag(lag)

    def scraped(self) -> dict[Series, float]:
        """The lag gauges in ``/metrics`` as any worker answers it: by name and labels."""
        return lag_gauges(exposition(next(iter(self.metrics.values())).registry)[0].decode())


@pytest.fixture
def workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workers]:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    played = Workers()
    as_played = values.MultiProcessValue(lambda: played.current)  # type: ignore[no-untyped-call]
    monkeypatch.setattr(values, "ValueClass", as_played)
    yield played
    monkeypatch.undo()
    played.metrics.clear()
    del as_played  # nothing refers to the played workers' files any more
    close = getattr(values, "close_all_multiprocess_files", None)  # prometheus_client 0.21+
    if close is not None:
        close()
    with warnings.catch_warnings():  # before 0.21, the files close when collected
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def lag(forwarding: int, partitions: Mapping[str, int] | None) -> UnitLag:
    """The storefront's lag: ``forwarding`` events to send to billing, and what waits on the
    broker for billing (None: the broker did not answer)."""
    backlog = Backlog("billing", partitions, None if partitions is not None else "timed out")
    return UnitLag("storefront", "redis", (Forwarding("billing", forwarding, None),), (backlog,))


PENDING = "dolmen_units_broker_pending", "storefront", "billing"
KNOWN = "dolmen_units_broker_lag_known", "storefront", "billing"
FORWARD = "dolmen_units_forward_pending", "storefront", "billing"


def test_the_workers_same_numbers_are_shown_once_not_summed(workers: Workers) -> None:
    workers.report(1, lag(3, {"0": 5, "1": 0}))
    workers.report(2, lag(3, {"0": 5, "1": 0}))

    scraped = workers.scraped()

    assert scraped[FORWARD] == 3
    assert (scraped[(*PENDING, "0")], scraped[(*PENDING, "1")]) == (5, 0)
    assert scraped[KNOWN] == 1


def test_workers_that_sampled_at_other_moments_show_the_largest_backlog(workers: Workers) -> None:
    workers.report(1, lag(4, {"0": 5, "1": 0}))
    workers.report(2, lag(1, {"0": 3, "1": 2}))

    scraped = workers.scraped()

    assert scraped[FORWARD] == 4
    assert (scraped[(*PENDING, "0")], scraped[(*PENDING, "1")]) == (5, 2)


@pytest.mark.parametrize("unknown_to", [1, 2])
def test_a_worker_that_did_not_hear_the_broker_does_not_hide_one_that_did(
    workers: Workers, unknown_to: int
) -> None:
    for worker in (1, 2):  # both heard it once: their files hold both partitions
        workers.report(worker, lag(0, {"0": 1, "1": 1}))
    workers.report(unknown_to, lag(2, None))  # its last sample: the broker did not answer
    workers.report(3 - unknown_to, lag(2, {"0": 7, "1": 0}))

    scraped = workers.scraped()

    # Whichever worker's file is read first: the known backlog, which the known gauge says.
    assert (scraped[(*PENDING, "0")], scraped[(*PENDING, "1")]) == (7, 0)
    assert scraped[KNOWN] == 1
    assert scraped[FORWARD] == 2


def test_when_no_worker_heard_the_broker_the_backlog_is_unknown(workers: Workers) -> None:
    for worker in (1, 2):
        workers.report(worker, lag(0, {"0": 1}))
        workers.report(worker, lag(0, None))

    scraped = workers.scraped()

    assert math.isnan(scraped[(*PENDING, "0")])
    assert scraped[KNOWN] == 0
