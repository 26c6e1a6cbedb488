"""What the dashboard shows, as JSON-ready data: modules, graph, events, traces, configuration."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dolmen.observability._dashboard import _red as red
from dolmen.observability._dashboard._sampler import Sampler

if TYPE_CHECKING:
    from dolmen.events import DeadLetter, HandlerStats

EVENTS_CACHE_SECONDS = 2.0
"""The outbox is read at most this often, however many dashboards poll."""
DEAD_LETTERS_SHOWN = 50
TRACES_SHOWN = 30


class TraceSummaryLike(Protocol):
    """One trace of the buffer, summed up (what the traces' buffer gives)."""

    @property
    def trace_id(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def module(self) -> str | None: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def duration_ns(self) -> int: ...
    @property
    def error(self) -> bool: ...
    @property
    def spans(self) -> int: ...


class SpanLike(Protocol):
    """One span of a trace (what the traces' buffer gives)."""

    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def module(self) -> str | None: ...
    @property
    def start_ns(self) -> int: ...
    @property
    def end_ns(self) -> int: ...
    @property
    def error(self) -> bool: ...
    @property
    def attributes(self) -> Mapping[str, str | int | float | bool]: ...


class TraceSource(Protocol):
    """Where recent traces come from: failed first, then slowest, then recent."""

    def summaries(self, limit: int = 50) -> Sequence[TraceSummaryLike]:
        """Up to ``limit`` traces, failed first, then slowest, then recent."""
        ...

    def trace(self, trace_id: str) -> Sequence[SpanLike]:
        """The spans of one trace ordered by start; empty when unknown."""
        ...


class EventsCache:
    """The outbox's statistics and dead letters, read at most every few seconds."""

    def __init__(self, app: Any, clock: Callable[[], float]) -> None:
        self.app = app
        self.clock = clock
        self._read_at: float | None = None
        self._stats: list[HandlerStats] = []
        self._dead: list[DeadLetter] = []

    def forget(self) -> None:
        """Read again next time (after a replay or a discard)."""
        self._read_at = None

    async def get(self) -> tuple[list[HandlerStats], list[DeadLetter]]:
        """Statistics per handler and the oldest dead letters."""
        now = self.clock()
        if self._read_at is None or not 0 <= now - self._read_at < EVENTS_CACHE_SECONDS:
            events = self.app.events
            self._stats = await events.stats()
            self._dead = await events.dead_letters(limit=DEAD_LETTERS_SHOWN)
            self._read_at = now
        return self._stats, self._dead


def module_levels(app: Any) -> dict[str, int]:
    """Each module's depth in the dependency graph (0: depends on no module)."""
    levels: dict[str, int] = {}
    for module in app.modules:  # in dependency order: a module's dependencies come first
        levels[module.name] = 1 + max((levels.get(d, 0) for d in module.depends_on), default=-1)
    return levels


def metrics_view(app: Any, sampler: Sampler | None, minutes: float) -> dict[str, Any]:
    """Requests per route and per module, and the module graph with its live rates."""
    window = sampler.window(minutes * 60) if sampler is not None else None
    names = [m.name for m in app.modules]
    found: dict[str, Any] = {
        "metrics": sampler is not None,
        "window_seconds": (window[1].at - window[0].at) if window else 0.0,
        "sampled_at": sampler.snapshots[-1].at if sampler and sampler.snapshots else None,
        "routes": [],
        "modules": {},
        "series": {},
    }
    calls: dict[tuple[str, str], dict[str, Any]] = {}
    remote: dict[str, dict[str, Any]] = {}
    event_rates: dict[tuple[str, str], dict[str, float]] = {}
    if window is not None and sampler is not None:
        older, latest = window
        found["routes"] = red.routes(older, latest)
        found["modules"] = red.modules(older, latest)
        found["series"] = red.series(sampler.pairs(minutes * 60))
        calls = red.calls(older, latest)
        remote = red.remote(older, latest)
        event_rates = red.events(older, latest)
    found["graph"] = graph(app, names, calls, event_rates, remote)
    found["event_rates"] = [
        {"event_type": event_type, "handler": handler, **rates}
        for (event_type, handler), rates in sorted(event_rates.items())
    ]
    return found


def graph(
    app: Any,
    names: list[str],
    calls: Mapping[tuple[str, str], Mapping[str, Any]],
    event_rates: Mapping[tuple[str, str], Mapping[str, float]],
    remote: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Modules as nodes; declared dependencies and event subscriptions as edges, with rates.

    A call edge to a module in another deployment unit carries that ``unit`` and the rate
    of its ``failures`` (unreachable, timed out, failed), from ``remote``.
    """
    levels = module_levels(app)
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for module in app.modules:
        for target in module.depends_on:
            edges[module.name, target, "call"] = {"declared": True, "rate": 0.0, "p95": None}
    for (caller, callee), numbers in calls.items():
        edge = edges.setdefault((caller, callee, "call"), {"declared": False, "p95": None})
        edge.update(rate=numbers["rate"], p95=numbers.get("p95"))
    for (_, target, kind), edge in edges.items():
        across = (remote or {}).get(target)
        if kind == "call" and across is not None:
            edge.update(unit=across["unit"], failures=across["failures"])
    for subscription in app.subscriptions:
        source = subscription.event_type.owner_module()
        edge = edges.setdefault(
            (source, subscription.module, "event"), {"declared": True, "rate": 0.0, "events": []}
        )
        edge["events"].append(subscription.event_type.event_name)
        rates = event_rates.get((subscription.event_type.event_name, subscription.name), {})
        edge["rate"] += rates.get("handled", 0.0) + rates.get("failed", 0.0)
    for module in app.modules:
        for source in module.listens_to:
            edges.setdefault(
                (source, module.name, "event"), {"declared": True, "rate": 0.0, "events": []}
            )
    return {
        "nodes": [{"name": name, "level": levels.get(name, 0)} for name in names],
        "edges": [
            {"from": source, "to": target, "kind": kind, **data}
            for (source, target, kind), data in edges.items()
        ],
    }


def events_view(
    stats: Sequence[HandlerStats], dead: Sequence[DeadLetter], rates: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Pending, unhandled, retrying and dead per handler; the dead letters; the rates."""
    return {
        "handlers": [
            {
                "handler": line.handler,
                "pending": line.pending,
                "in_flight": line.in_flight,
                "retrying": line.retrying,
                "dead": line.dead,
                "unhandled": line.unhandled,
                "oldest_pending_age": line.oldest_pending_age,
                "dispatchers": line.dispatchers,
            }
            for line in stats
        ],
        "totals": {
            "pending": sum(line.pending for line in stats),
            "unhandled": sum(line.pending for line in stats if line.unhandled),
            "retrying": sum(line.retrying for line in stats),
            "dead": sum(line.dead for line in stats),
        },
        "dead_letters": [
            {
                "id": letter.id,
                "handler": letter.handler,
                "event_type": letter.event_type,
                "event_id": letter.envelope.id if letter.envelope is not None else None,
                "attempts": letter.attempts,
                "error": letter.error,
                "failed_at": letter.failed_at,
            }
            for letter in dead
        ],
        "rates": list(rates),
    }


def traces_view(source: TraceSource | None) -> dict[str, Any]:
    """Recent traces, failed and slow first; ``available`` false when traces are off."""
    if source is None:
        return {"available": False, "traces": []}
    return {
        "available": True,
        "traces": [
            {
                "trace_id": t.trace_id,
                "root": t.root,
                "module": t.module,
                "start_ns": t.start_ns,
                "duration_ms": t.duration_ns / 1e6,
                "error": t.error,
                "spans": t.spans,
            }
            for t in source.summaries(TRACES_SHOWN)
        ],
    }


def trace_view(source: TraceSource | None, trace_id: str) -> list[dict[str, Any]] | None:
    """The spans of one trace for the waterfall, times relative to its first span (ms)."""
    spans = list(source.trace(trace_id)) if source is not None else []
    if not spans:
        return None
    start = min(span.start_ns for span in spans)
    return [
        {
            "span_id": span.span_id,
            "parent_id": span.parent_id,
            "name": span.name,
            "kind": span.kind,
            "module": span.module,
            "offset_ms": (span.start_ns - start) / 1e6,
            "duration_ms": max(span.end_ns - span.start_ns, 0) / 1e6,
            "error": span.error,
            "attributes": {k: v for k, v in span.attributes.items()},
        }
        for span in spans
    ]


def config_view(config: Any) -> dict[str, Any]:
    """The effective configuration as ``dolmen config show --json`` prints it: secrets masked."""
    from dolmen.config.report import show_json

    shown: dict[str, Any] = json.loads(show_json(config))
    return shown
