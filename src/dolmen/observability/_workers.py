"""``/metrics`` with several workers: every worker's files in the shared folder, combined.

prometheus_client's multiprocess collector combines each gauge as its ``multiprocess_mode``
says. The broker lag's ``max`` would not do: a worker whose broker did not answer writes
``NaN``, and ``max`` keeps or drops it by the order it reads the files in (``NaN`` compares
false both ways). Those gauges are written per worker (``liveall``) and combined here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from prometheus_client.samples import Sample

LARGEST_KNOWN = frozenset({"dolmen_units_broker_pending"})
"""Gauges (``multiprocess_mode="liveall"``) shown as the largest value a worker knows, and
``NaN`` (unknown) only when no worker knows it."""


def workers_registry() -> CollectorRegistry:
    """A registry of every worker's values (``PROMETHEUS_MULTIPROC_DIR``), one per series."""
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    shared = MultiProcessCollector(None)  # type: ignore[no-untyped-call]  # untyped upstream
    registry.register(_Combined(shared))
    return registry


class _Combined(Collector):
    """The workers' families, with the :data:`LARGEST_KNOWN` gauges made one per series."""

    def __init__(self, workers: Collector) -> None:
        self.workers = workers

    def collect(self) -> Iterable[Metric]:
        for family in self.workers.collect():
            if family.name in LARGEST_KNOWN:
                family.samples = largest_known(family.samples)
            yield family


def largest_known(samples: Sequence[Sample]) -> list[Sample]:
    """Per series (the labels but ``pid``), the largest value that is not NaN, else NaN."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], Sample] = {}
    for sample in samples:
        labels = {name: value for name, value in sample.labels.items() if name != "pid"}
        key = (sample.name, tuple(sorted(labels.items())))
        seen = found.get(key)
        if seen is None or math.isnan(seen.value) or sample.value > seen.value:
            found[key] = sample._replace(labels=labels)
    return list(found.values())
