"""The dashboard's module graph marks the calls that go to another deployment unit."""

from __future__ import annotations

from types import SimpleNamespace

from dolmen.observability._dashboard import _red as red
from dolmen.observability._dashboard._sampler import Snapshot
from dolmen.observability._dashboard._state import graph


def snapshot(at: float, ok: float, unreachable: float) -> Snapshot:
    def labels(outcome: str) -> tuple[tuple[str, str], ...]:
        return (
            ("method", "CatalogService.reserve"),
            ("module", "catalog"),
            ("outcome", outcome),
            ("unit", "catalog"),
        )

    counters = {
        (red.REMOTE_CALLS, labels("ok")): ok,
        (red.REMOTE_CALLS, labels("unreachable")): unreachable,
    }
    return Snapshot(at=at, counters=counters, histograms={}, requests={})


def test_a_call_edge_to_another_unit_carries_the_unit_and_its_failures() -> None:
    remote = red.remote(snapshot(0.0, 0, 0), snapshot(10.0, 40, 10))
    assert remote == {"catalog": {"unit": "catalog", "rate": 5.0, "failures": 1.0}}

    app = SimpleNamespace(
        modules=[
            SimpleNamespace(name="catalog", depends_on=(), listens_to=()),
            SimpleNamespace(name="orders", depends_on=("catalog",), listens_to=()),
        ],
        subscriptions=[],
    )
    drawn = graph(app, ["catalog", "orders"], {}, {}, remote)

    assert drawn["edges"] == [
        {
            "from": "orders",
            "to": "catalog",
            "kind": "call",
            "declared": True,
            "rate": 0.0,
            "p95": None,
            "unit": "catalog",
            "failures": 1.0,
        }
    ]
