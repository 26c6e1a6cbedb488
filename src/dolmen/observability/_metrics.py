"""Prometheus metrics of an app: HTTP requests, module calls, events, the outbox, broker lag.

Names follow Prometheus's conventions (``dolmen_`` prefix, base units, ``_total`` counters);
labels are bounded: route templates (never paths), module and handler names, event types.
Each app has its own registry, so that many apps can start in one process (tests do). With
several worker processes the values live in files shared by the workers
(``PROMETHEUS_MULTIPROC_DIR``, which ``dolmen run --workers`` sets), and ``/metrics`` sums
them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from dolmen.events import HandlerStats
    from dolmen.observability._lag import UnitLagLike

UNMATCHED_ROUTE = "<unmatched>"
"""The ``route`` label of a request that matched no route (its path would be unbounded)."""

# Seconds: from a fast route or module call (1 ms) to a slow handler (10 s).
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def multiprocess() -> bool:
    """Whether the values are shared by worker processes through files.

    prometheus_client decides once, when it is first imported, from
    ``PROMETHEUS_MULTIPROC_DIR``: ask it, not the environment as it is now.
    """
    from prometheus_client import values

    return values.ValueClass is not values.MutexValue


def process_stopped() -> None:
    """In multiprocess mode, drop this process's live gauges (its outbox samples)."""
    if multiprocess():
        from prometheus_client import multiprocess as shared

        shared.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream


class Metrics:
    """The metrics of one app, in a registry of its own; the hot paths cache label children."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry = CollectorRegistry(auto_describe=True)
        request = ["method", "route", "status", "module"]
        self.requests = Counter(
            "dolmen_http_requests_total", "HTTP requests served.", request, registry=registry
        )
        self.request_duration = Histogram(
            "dolmen_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response.",
            request,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        call = ["caller", "callee", "method"]
        self.calls = Counter(
            "dolmen_module_calls_total",
            "Calls of a module's public service by another module.",
            call,
            registry=registry,
        )
        self.call_duration = Histogram(
            "dolmen_module_call_duration_seconds",
            "Duration of calls of a module's public service by another module.",
            call,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        remote = ["unit", "module", "method"]
        self.remote_calls = Counter(
            "dolmen_remote_calls_total",
            "Calls of a module's public service in another deployment unit, by outcome: ok, "
            "error (the module's declared error), failed, unreachable, timeout.",
            [*remote, "outcome"],
            registry=registry,
        )
        self.remote_call_duration = Histogram(
            "dolmen_remote_call_duration_seconds",
            "Duration of calls to another deployment unit, retries included.",
            remote,
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.published = Counter(
            "dolmen_events_published_total",
            "Events published by committed units of work.",
            ["event_type"],
            registry=registry,
        )
        delivery = ["event_type", "handler"]
        self.handled, self.failed, self.retried, self.dead = (
            Counter(f"dolmen_events_{what}_total", text, delivery, registry=registry)
            for what, text in (
                ("handled", "Handler runs that succeeded."),
                ("failed", "Handler runs that raised (each try)."),
                ("retried", "Failed tries that will be tried again."),
                ("dead", "Failed tries that made the delivery a dead letter."),
            )
        )
        self.lag = Histogram(
            "dolmen_events_dispatch_lag_seconds",
            "Time from an event's publication to the start of its first run by a handler.",
            delivery,
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        gauge: dict[str, Any] = {"registry": registry, "multiprocess_mode": "livemax"}
        self.pending = Gauge(
            "dolmen_outbox_pending", "Deliveries waiting, per handler.", ["handler"], **gauge
        )
        self.unhandled = Gauge(
            "dolmen_outbox_unhandled",
            "Deliveries waiting for a handler that no running process has.",
            ["handler"],
            **gauge,
        )
        self.dead_letters = Gauge(
            "dolmen_outbox_dead", "Dead letters, per handler.", ["handler"], **gauge
        )
        self.oldest_pending_age = Gauge(
            "dolmen_outbox_oldest_pending_age_seconds",
            "Age of the oldest waiting delivery, per handler (0 when none waits).",
            ["handler"],
            **gauge,
        )
        self.forward_pending = Gauge(
            "dolmen_units_forward_pending",
            "Events waiting in this unit's outbox to be sent to another unit, per destination.",
            ["unit", "destination"],
            **gauge,
        )
        self.forward_oldest_age = Gauge(
            "dolmen_units_forward_oldest_age_seconds",
            "Age of the oldest event waiting to be sent to another unit (0 when none waits).",
            ["unit", "destination"],
            **gauge,
        )
        self.broker_pending = Gauge(
            "dolmen_units_broker_pending",
            "Messages on the broker not yet taken in by unit `destination`, per partition, as "
            "unit `unit` sees them (NaN: unknown, the broker did not answer in time); with "
            "the database transport, the deliveries waiting for its handlers (`outbox`).",
            ["unit", "destination", "partition"],
            registry=registry,
            multiprocess_mode="liveall",  # NaN when unknown: workers combined in _workers.py
        )
        self.broker_lag_known = Gauge(
            "dolmen_units_broker_lag_known",
            "1 when the broker said what waits for unit `destination` at the last sample, 0 "
            "when it did not answer in time.",
            ["unit", "destination"],
            **gauge,
        )
        self._requests: dict[tuple[str, str, int, str], tuple[Any, Any]] = {}
        self._calls: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._published: dict[str, Any] = {}
        self._calls_by_key: dict[tuple[str, str, Any, str], tuple[Any, Any]] = {}
        self._deliveries: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._remote_calls: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
        self._broker_seen: dict[str, set[str]] = {}

    def request(self, method: str, route: str, status: int, module: str, seconds: float) -> None:
        """Count one request and its duration."""
        key = (method, route, status, module)
        children = self._requests.get(key)
        if children is None:
            labels = (method, route, str(status), module)
            children = self._requests[key] = (
                self.requests.labels(*labels),
                self.request_duration.labels(*labels),
            )
        children[0].inc()
        children[1].observe(seconds)

    def call(self, caller: str, callee: str, method: str, seconds: float) -> None:
        """Count one cross-module call and its duration."""
        key = (caller, callee, method)
        children = self._calls.get(key)
        if children is None:
            children = self._calls[key] = (
                self.calls.labels(*key),
                self.call_duration.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)

    def module_call(self, caller: str, callee: str, key: Any, method: str, seconds: float) -> None:
        """Count one cross-module call of ``key.method`` and its duration."""
        children = self._calls_by_key.get((caller, callee, key, method))
        if children is None:
            label = f"{getattr(key, '__name__', key)}.{method}"
            self.call(caller, callee, label, seconds)  # makes the children
            self._calls_by_key[caller, callee, key, method] = self._calls[caller, callee, label]
            return
        children[0].inc()
        children[1].observe(seconds)

    def remote_call(
        self, unit: str, module: str, method: str, outcome: str, seconds: float
    ) -> None:
        """Count one call to another unit, its outcome and its duration."""
        key = (unit, module, method, outcome)
        children = self._remote_calls.get(key)
        if children is None:
            children = self._remote_calls[key] = (
                self.remote_calls.labels(*key),
                self.remote_call_duration.labels(unit, module, method),
            )
        children[0].inc()
        children[1].observe(seconds)

    def delivery(self, event_type: str, handler: str) -> tuple[Any, Any]:
        """The lag histogram and the handled counter of one handler of one event type."""
        key = (event_type, handler)
        children = self._deliveries.get(key)
        if children is None:
            children = self._deliveries[key] = (self.lag.labels(*key), self.handled.labels(*key))
        return children

    def events_published(self, event_types: Iterable[str]) -> None:
        """Count the events one unit of work published (once it committed)."""
        for event_type in event_types:
            child = self._published.get(event_type)
            if child is None:
                child = self._published[event_type] = self.published.labels(event_type)
            child.inc()

    def outbox(self, stats: Iterable[HandlerStats]) -> None:
        """Set the outbox gauges from a sample of the delivery statistics."""
        for line in stats:
            self.pending.labels(line.handler).set(line.pending)
            self.unhandled.labels(line.handler).set(line.pending if line.unhandled else 0)
            self.dead_letters.labels(line.handler).set(line.dead)
            self.oldest_pending_age.labels(line.handler).set(line.oldest_pending_age or 0.0)

    def units_lag(self, lag: UnitLagLike) -> None:
        """Set the broker lag gauges of one unit from a measure (unknown backlogs: NaN)."""
        for line in lag.forwarding:
            self.forward_pending.labels(lag.unit, line.destination).set(line.waiting)
            age = line.oldest_age or 0.0
            self.forward_oldest_age.labels(lag.unit, line.destination).set(age)
        for backlog in lag.backlogs:
            known = backlog.partitions is not None
            self.broker_lag_known.labels(lag.unit, backlog.destination).set(1 if known else 0)
            if backlog.partitions is not None:
                self._broker_seen[backlog.destination] = set(backlog.partitions)
            for partition in self._broker_seen.get(backlog.destination, ()):
                waiting = math.nan if backlog.partitions is None else backlog.partitions[partition]
                self.broker_pending.labels(lag.unit, backlog.destination, partition).set(waiting)


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition of ``registry``, or of every worker's files in multiprocess mode."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    if multiprocess():
        from dolmen.observability._workers import workers_registry

        registry = workers_registry()
    return generate_latest(registry), CONTENT_TYPE_LATEST
