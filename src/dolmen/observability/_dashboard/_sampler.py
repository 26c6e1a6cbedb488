"""Snapshots of the Prometheus registry on a timer, kept for the last minutes.

The request path only counts (the access middleware and the interceptors fill the registry);
the dashboard's rates and percentiles come from the difference between two snapshots taken
here, off the request path. Tests call :meth:`Sampler.sample` with the time they choose.
"""

from __future__ import annotations

import collections
import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

Labels = tuple[tuple[str, str], ...]
"""A series' labels, sorted by name (``le`` left out of histogram buckets)."""
Series = tuple[str, Labels]
"""A sample's name and labels: ``("dolmen_http_requests_total", (("method", "GET"), ...))``."""

PREFIX = "dolmen_"
REQUESTS = "dolmen_http_requests_total"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Dolmen's counters and histograms at one moment (seconds since the epoch)."""

    at: float
    counters: dict[Series, float]
    """``<name>_total`` samples."""
    histograms: dict[Series, tuple[tuple[float, float], ...]]
    """Per histogram family and labels: ``(upper bound, cumulative count)``, up to ``+Inf``."""
    requests: dict[str, tuple[float, float]]
    """Per module, the requests served and those answered 5xx (read once, for sparklines)."""

    def histogram(self, name: str) -> Iterator[tuple[Labels, tuple[tuple[float, float], ...]]]:
        """Each series of histogram family ``name`` as (labels, buckets)."""
        for (family, labels), buckets in self.histograms.items():
            if family == name:
                yield labels, buckets


def read(families: Iterable[Metric], at: float) -> Snapshot:
    """A snapshot of Dolmen's counters and histograms among ``families``."""
    counters: dict[Series, float] = {}
    buckets: dict[Series, list[tuple[float, float]]] = collections.defaultdict(list)
    for family in families:
        if not family.name.startswith(PREFIX) or family.type not in ("counter", "histogram"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                counters[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
            elif sample.name.endswith("_bucket"):
                labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
                bound = float(sample.labels["le"])
                buckets[family.name, labels].append((bound, sample.value))
    histograms = {
        key: tuple(sorted(found)) for key, found in buckets.items() if math.isinf(max(found)[0])
    }
    return Snapshot(at, counters, histograms, _requests_per_module(counters))


def _requests_per_module(counters: dict[Series, float]) -> dict[str, tuple[float, float]]:
    found: dict[str, tuple[float, float]] = {}
    for (sample, labels), value in counters.items():
        if sample != REQUESTS:
            continue
        named = dict(labels)
        module = named.get("module", "")
        failed = value if named.get("status", "").startswith("5") else 0.0
        count, errors = found.get(module, (0.0, 0.0))
        found[module] = (count + value, errors + failed)
    return found


def registry_reader(registry: CollectorRegistry) -> Callable[[], Iterable[Metric]]:
    """What to read: ``registry``, or every worker's files in multiprocess mode."""
    from dolmen.observability._metrics import multiprocess

    def families() -> Iterable[Metric]:
        if multiprocess():
            from dolmen.observability._workers import workers_registry

            return list(workers_registry().collect())
        return list(registry.collect())

    return families


class Sampler:
    """A ring of snapshots covering the last ``keep_seconds``."""

    def __init__(self, families: Callable[[], Iterable[Metric]], keep_seconds: float) -> None:
        self.families = families
        self.keep_seconds = keep_seconds
        self.snapshots: collections.deque[Snapshot] = collections.deque()

    def sample(self, now: float) -> Snapshot:
        """Read the registry now; forget the snapshots older than the window needs."""
        snapshot = read(self.families(), now)
        while self.snapshots and self.snapshots[-1].at >= now:
            self.snapshots.pop()  # the clock went back: keep the ring in order
        self.snapshots.append(snapshot)
        # Keep one snapshot at or before the window's start, so the window is whole.
        while len(self.snapshots) > 2 and self.snapshots[1].at <= now - self.keep_seconds:
            self.snapshots.popleft()
        return snapshot

    def window(self, seconds: float) -> tuple[Snapshot, Snapshot] | None:
        """The oldest snapshot within the last ``seconds`` and the latest; None before two."""
        if len(self.snapshots) < 2:
            return None
        latest = self.snapshots[-1]
        start = latest.at - seconds
        older = next((s for s in self.snapshots if s.at >= start), latest)
        if older is latest:  # the last two snapshots are further apart than the window
            older = self.snapshots[-2]
        return older, latest

    def pairs(self, seconds: float) -> list[tuple[Snapshot, Snapshot]]:
        """Consecutive snapshots within the last ``seconds``, oldest first (for sparklines)."""
        window = self.window(seconds)
        if window is None:
            return []
        chosen = [s for s in self.snapshots if s.at >= window[0].at]
        return list(itertools.pairwise(chosen))
