"""What the PostgreSQL-backed peers of bench/events.py share: payloads, latencies, figures.

Each peer's handler gets the event's number and the time just before the publisher's commit
(``time.time()``), as Dolmen's ``source.Ping`` does. A worker process keeps
``(number, seconds since published)`` in memory, as Dolmen's worker does, and writes them to
``EVENTS_PEERS_LATENCIES`` (one file per process) when it exits; warm-up events carry a
negative number and are not kept.
"""

from __future__ import annotations

import atexit
import json
import os
import statistics
import time
from pathlib import Path

LATENCIES_ENV = "EVENTS_PEERS_LATENCIES"
DATABASE_ENV = "EVENTS_PEERS_DATABASE_URL"
RECEIVED_TABLE = (
    "CREATE TABLE IF NOT EXISTS received ("
    "id SERIAL PRIMARY KEY, number INTEGER NOT NULL, latency DOUBLE PRECISION)"
)
INSERT_RECEIVED = "INSERT INTO received (number, latency) VALUES ($1, $2)"


def payload(number: int) -> bytes:
    return json.dumps({"number": number, "sent_at": time.time()}).encode()


class Latencies:
    """The latencies one worker process saw, written to a file of its own at exit."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []
        self.target = os.environ.get(LATENCIES_ENV)  # set for worker processes only
        if self.target:
            atexit.register(self.write)

    def record(self, number: int, sent_at: float) -> float:
        latency = time.time() - sent_at
        if number >= 0:  # not a warm-up event
            self.seen.append((number, latency))
        return latency

    def write(self) -> None:
        assert self.target is not None
        Path(f"{self.target}.{os.getpid()}").write_text(json.dumps(self.seen))


def read_latencies(target: str) -> list[tuple[int, float]]:
    """Every worker process's latencies for ``target`` (and remove the files)."""
    found: list[tuple[int, float]] = []
    for path in Path(target).parent.glob(Path(target).name + ".*"):
        found += [(int(n), float(s)) for n, s in json.loads(path.read_text())]
        path.unlink()
    return found


def latency_figures(seen: list[tuple[int, float]], rate: float) -> dict[str, float]:
    """p50 and p99 in ms as bench/events.py computes Dolmen's: the first second dropped."""
    values = sorted(latency for number, latency in seen if number >= rate)
    if not values:
        raise RuntimeError("no latency was recorded")
    return {
        "p50_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(values[max(int(len(values) * 0.99) - 1, 0)] * 1000, 2),
        "measured": len(values),
    }
