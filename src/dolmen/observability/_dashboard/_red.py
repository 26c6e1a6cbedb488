"""Rates, error rates and latency percentiles between two snapshots, per route and module."""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from dolmen.observability._dashboard._quantiles import merge, quantile, subtract
from dolmen.observability._dashboard._sampler import Snapshot

REQUESTS = "dolmen_http_requests_total"
REQUEST_DURATION = "dolmen_http_request_duration_seconds"
CALLS = "dolmen_module_calls_total"
CALL_DURATION = "dolmen_module_call_duration_seconds"
REMOTE_CALLS = "dolmen_remote_calls_total"
EVENT_COUNTERS = ("handled", "failed", "retried", "dead")
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))

Key = Callable[[dict[str, str]], Hashable]


def counter_deltas(older: Snapshot, latest: Snapshot, name: str, key: Key) -> dict[Hashable, float]:
    """The increase of counter ``name`` between two snapshots, summed per ``key(labels)``.

    A series that went down was reset (a process restarted): its whole value is new.
    """
    before = older.counters
    found: dict[Hashable, float] = collections.defaultdict(float)
    for (sample, labels), value in latest.counters.items():
        if sample != name:
            continue
        old = before.get((sample, labels), 0.0)
        found[key(dict(labels))] += value - old if value >= old else value
    return found


def latency(
    older: Snapshot, latest: Snapshot, name: str, key: Key
) -> dict[Hashable, dict[str, float | None]]:
    """p50, p95 and p99 (seconds) of histogram ``name`` between two snapshots, per key."""
    before = older.histograms
    parts: dict[Hashable, list[Sequence[tuple[float, float]]]] = collections.defaultdict(list)
    for labels, buckets in latest.histogram(name):
        parts[key(dict(labels))].append(subtract(buckets, before.get((name, labels))))
    return {
        group: {label: quantile(q, merge(series)) for label, q in QUANTILES}
        for group, series in parts.items()
    }


def is_error(labels: dict[str, str]) -> bool:
    """A request counted as an error: a 5xx answer (the server failed, not the client)."""
    return labels.get("status", "").startswith("5")


def red(older: Snapshot, latest: Snapshot, key: Key) -> dict[Hashable, dict[str, Any]]:
    """Requests, rate, errors, error rate and percentiles per ``key(labels)`` of requests."""
    seconds = max(latest.at - older.at, 1e-9)
    counts = counter_deltas(older, latest, REQUESTS, key)
    errors = counter_deltas(older, latest, REQUESTS, lambda labels: (key(labels), is_error(labels)))
    percentiles = latency(older, latest, REQUEST_DURATION, key)
    found: dict[Hashable, dict[str, Any]] = {}
    for group, count in counts.items():
        failed = errors.get((group, True), 0.0)
        found[group] = {
            "requests": count,
            "rate": count / seconds,
            "errors": failed,
            "error_rate": failed / seconds,
            "error_ratio": failed / count if count else 0.0,
            **percentiles.get(group, {label: None for label, _ in QUANTILES}),
        }
    return found


def routes(older: Snapshot, latest: Snapshot) -> list[dict[str, Any]]:
    """One line per route (module, method, template), by module, then busiest first."""
    lines = red(older, latest, lambda x: (x.get("module", ""), x["method"], x["route"]))
    found = []
    for group, numbers in lines.items():
        assert isinstance(group, tuple)  # the key above
        module, method, route = group
        found.append({"module": module, "method": method, "route": route, **numbers})
    return sorted(found, key=lambda line: (line["module"], -line["rate"], line["route"]))


def modules(older: Snapshot, latest: Snapshot) -> dict[str, dict[str, Any]]:
    """The same per module (``""``: requests that matched no module's route)."""
    return {str(k): v for k, v in red(older, latest, lambda x: x.get("module", "")).items()}


def series(pairs: Sequence[tuple[Snapshot, Snapshot]]) -> dict[str, list[list[float]]]:
    """Per module, ``[time, request rate, error rate]`` for each interval, for sparklines.

    From the per-module totals each snapshot read once: a window of 15 minutes is 180
    intervals, drawn every few seconds.
    """
    found: dict[str, list[list[float]]] = collections.defaultdict(list)
    for older, latest in pairs:
        seconds = max(latest.at - older.at, 1e-9)
        for module, (count, errors) in latest.requests.items():
            old_count, old_errors = older.requests.get(module, (0.0, 0.0))
            if count < old_count or errors < old_errors:  # a reset: all of it is new
                old_count = old_errors = 0.0
            if count > old_count or module in found:
                found[module].append(
                    [latest.at, (count - old_count) / seconds, (errors - old_errors) / seconds]
                )
    return dict(found)


def calls(older: Snapshot, latest: Snapshot) -> dict[tuple[str, str], dict[str, Any]]:
    """Cross-module calls per (caller, callee): rate and percentiles."""
    seconds = max(latest.at - older.at, 1e-9)

    def edge(labels: dict[str, str]) -> tuple[str, str]:
        return labels["caller"], labels["callee"]

    counts = counter_deltas(older, latest, CALLS, edge)
    percentiles = latency(older, latest, CALL_DURATION, edge)
    return {
        group: {"calls": count, "rate": count / seconds, **percentiles.get(group, {})}
        for group, count in counts.items()
        if isinstance(group, tuple)
    }


def remote(older: Snapshot, latest: Snapshot) -> dict[str, dict[str, Any]]:
    """Calls to other units per target module: its unit, the rate and the failures' rate."""
    seconds = max(latest.at - older.at, 1e-9)
    counts = counter_deltas(
        older,
        latest,
        REMOTE_CALLS,
        lambda labels: (labels["module"], labels["unit"], labels["outcome"]),
    )
    found: dict[str, dict[str, Any]] = {}
    for group, count in counts.items():
        assert isinstance(group, tuple)  # the key above
        module, unit, outcome = group
        line = found.setdefault(module, {"unit": unit, "rate": 0.0, "failures": 0.0})
        line["rate"] += count / seconds
        if outcome not in ("ok", "error"):  # the call failed, not the module
            line["failures"] += count / seconds
    return found


def events(older: Snapshot, latest: Snapshot) -> dict[tuple[str, str], dict[str, float]]:
    """Per (event type, handler): handled, failed, retried and dead per second."""
    seconds = max(latest.at - older.at, 1e-9)
    found: dict[tuple[str, str], dict[str, float]] = collections.defaultdict(
        lambda: dict.fromkeys(EVENT_COUNTERS, 0.0)
    )
    for what in EVENT_COUNTERS:
        deltas = counter_deltas(
            older,
            latest,
            f"dolmen_events_{what}_total",
            lambda labels: (labels["event_type"], labels["handler"]),
        )
        for group, count in deltas.items():
            if isinstance(group, tuple):
                found[group][what] = count / seconds
    return dict(found)
