"""The dashboard's waterfall: each span placed from the trace's first start, in milliseconds."""

from __future__ import annotations

from collections.abc import Sequence

from dolmen.observability import SpanRecord, TraceSummary
from dolmen.observability._dashboard._state import trace_view, traces_view

MS = 1_000_000
START = 1_700_000_000 * 1_000_000_000

SPANS = [
    SpanRecord("t1", "a", None, "POST /orders/{sku}", "server", "orders", START,
               START + 5 * MS, True, {"http.response.status_code": 500}),
    SpanRecord("t1", "b", "a", "orders -> stock.Stock.reserve", "internal", "orders",
               START + 1 * MS, START + 2 * MS, True, {}),
]  # fmt: skip


class OneTrace:
    """The two methods of the traces' buffer, over one fixed trace."""

    def summaries(self, limit: int = 50) -> Sequence[TraceSummary]:
        return [TraceSummary("t1", "POST /orders/{sku}", "orders", START, 5 * MS, True, 2)]

    def trace(self, trace_id: str) -> Sequence[SpanRecord]:
        return SPANS if trace_id == "t1" else []


def test_spans_are_placed_from_the_first_start_in_milliseconds() -> None:
    spans = trace_view(OneTrace(), "t1")
    assert spans is not None
    assert [(s["name"], s["offset_ms"], s["duration_ms"]) for s in spans] == [
        ("POST /orders/{sku}", 0.0, 5.0),
        ("orders -> stock.Stock.reserve", 1.0, 1.0),
    ]
    assert spans[1]["parent_id"] == "a"
    assert spans[0]["attributes"] == {"http.response.status_code": 500}


def test_an_unknown_trace_has_no_waterfall_and_traces_off_say_so() -> None:
    assert trace_view(OneTrace(), "nope") is None
    assert trace_view(None, "t1") is None
    assert traces_view(None) == {"available": False, "traces": []}
    [summary] = traces_view(OneTrace())["traces"]
    assert (summary["trace_id"], summary["error"], summary["duration_ms"]) == ("t1", True, 5.0)
