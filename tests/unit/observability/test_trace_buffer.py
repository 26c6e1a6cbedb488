"""The dashboard's trace buffer: bounded, keeps the failed and the slowest, groups late spans."""

from __future__ import annotations

from dataclasses import dataclass, field

from dolmen.observability._trace_buffer import AttributeValue, TraceBuffer


@dataclass
class Span:
    trace_id: int
    span_id: int
    parent_id: int | None = None
    parent_remote: bool = False
    name: str = "GET /orders/{order_id}"
    kind: str = "server"
    module: str | None = "orders"
    start_ns: int = 1_000
    end_ns: int = 2_000
    error: bool = False
    sampled: bool = True
    attributes: dict[str, AttributeValue] = field(default_factory=dict)


def request(buffer: TraceBuffer, trace_id: int, **root: object) -> None:
    """A request's trace: one module call, then its server span (which ends last)."""
    buffer.ended(Span(trace_id, 2, parent_id=1, name="orders -> catalog.Catalog.reserve",
                      kind="internal", start_ns=1_100, end_ns=1_500))  # fmt: skip
    buffer.ended(Span(trace_id, 1, **root))  # type: ignore[arg-type]


def test_a_sampled_trace_is_kept_with_its_spans_in_start_order() -> None:
    buffer = TraceBuffer()
    request(buffer, 7)
    [summary] = buffer.summaries()
    assert summary.trace_id == f"{7:032x}"
    assert (summary.root, summary.module, summary.spans) == ("GET /orders/{order_id}", "orders", 2)
    assert summary.duration_ns == 1_000
    spans = buffer.trace(summary.trace_id)
    assert [s.name for s in spans] == [
        "GET /orders/{order_id}",
        "orders -> catalog.Catalog.reserve",
    ]
    assert spans[1].parent_id == spans[0].span_id == f"{1:016x}"


def test_the_buffer_keeps_only_the_last_traces() -> None:
    buffer = TraceBuffer(size=3, slowest=0)
    for trace_id in range(1, 11):
        request(buffer, trace_id)
    kept = [int(s.trace_id, 16) for s in buffer.summaries()]
    assert kept == [10, 9, 8]
    assert buffer.trace(f"{1:032x}") == []


def test_failed_and_slowest_traces_are_kept_when_sampling_dropped_them() -> None:
    buffer = TraceBuffer(size=2, slowest=2)
    request(buffer, 1, sampled=False, error=True)  # failed
    request(buffer, 2, sampled=False, end_ns=90_000)  # slow
    request(buffer, 3, sampled=False, end_ns=50_000)  # slow, less so
    for trace_id in range(4, 40):
        request(buffer, trace_id, sampled=False)  # neither: dropped
    order = [int(s.trace_id, 16) for s in buffer.summaries()]
    assert order == [1, 2, 3]  # failed first, then slowest
    assert buffer.summaries()[0].error


def test_a_slower_trace_pushes_the_fastest_of_the_slowest_out() -> None:
    buffer = TraceBuffer(size=1, slowest=1)
    request(buffer, 1, sampled=False, end_ns=5_000)
    request(buffer, 2, sampled=False, end_ns=9_000)
    assert [int(s.trace_id, 16) for s in buffer.summaries()] == [2]


def test_late_spans_of_a_kept_trace_join_it() -> None:
    buffer = TraceBuffer()
    request(buffer, 5)
    # a handler runs after the request answered; its parent is the publisher's span
    buffer.ended(Span(5, 3, parent_id=2, parent_remote=True, kind="consumer", module="billing",
                      name="orders.OrderPlaced -> billing.charge", start_ns=9_000,
                      end_ns=12_000, error=True))  # fmt: skip
    [summary] = buffer.summaries()
    assert summary.spans == 3
    assert summary.error
    assert summary.duration_ns == 11_000
    assert buffer.trace(summary.trace_id)[-1].module == "billing"


def test_a_failed_handler_of_a_dropped_trace_is_kept_on_its_own() -> None:
    buffer = TraceBuffer(slowest=0)
    request(buffer, 5, sampled=False)  # dropped: not sampled, not failed, not slow
    assert buffer.summaries() == []
    buffer.ended(Span(5, 3, parent_id=2, parent_remote=True, kind="consumer", sampled=False,
                      name="orders.OrderPlaced -> billing.charge", error=True))  # fmt: skip
    [summary] = buffer.summaries()
    assert (summary.root, summary.error) == ("orders.OrderPlaced -> billing.charge", True)


def test_an_unknown_or_malformed_trace_id_has_no_spans() -> None:
    buffer = TraceBuffer()
    assert buffer.trace("0" * 32) == []
    assert buffer.trace("not hex") == []


def test_pending_spans_of_unfinished_traces_are_bounded() -> None:
    buffer = TraceBuffer(pending=3)
    for trace_id in range(10):  # children whose root never ends
        buffer.ended(Span(trace_id, 2, parent_id=1))
    assert len(buffer._pending) == 3
