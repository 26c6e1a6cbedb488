"""A unit's broker lag: computed from the outbox's statistics and the transport, never blocked."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dolmen.events import Envelope, HandlerStats
from dolmen.events._envelope import new_event_id
from dolmen.observability._lag import lag_view
from dolmen.observability._metrics import Metrics
from dolmen.units import (
    Backlog,
    Forwarding,
    InMemoryBroker,
    InMemoryTransport,
    LagProbe,
    UnitLag,
    forward_handler,
)
from dolmen.units._lag import broker_backlog, forwarding_lag, outbox_backlogs


def stats(handler: str, pending: int, in_flight: int = 0, age: float | None = None) -> HandlerStats:
    return HandlerStats(handler, pending, in_flight, 0, 0, age, 1)


def envelope(subject: str) -> Envelope:
    data = json.dumps({})
    return Envelope(new_event_id(), "orders.OrderPlaced", 1, "/shop", 1.0, data, subject)


class Stalled:
    """A broker that never answers (a dead broker behind a connection that hangs)."""

    def __init__(self) -> None:
        self.asked = 0

    async def lag(self, destination: str) -> Mapping[int, int]:
        self.asked += 1
        await asyncio.Event().wait()
        raise AssertionError("never answers")


class Counting:
    """A broker that answers at once, counting how often it is asked."""

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        self.asked = 0

    async def lag(self, destination: str) -> Mapping[int, int]:
        self.asked += 1
        await asyncio.sleep(0)
        return {0: self.waiting, 1: 0}


def test_forwarding_counts_waiting_and_running_deliveries_per_destination_unit() -> None:
    found = forwarding_lag(
        [
            stats(forward_handler("billing"), 3, 2, age=12.5),
            stats("billing.charge_order", 40),  # a local handler: not forwarding
        ],
        ["billing", "notifications"],
    )
    assert found == [
        Forwarding("billing", 5, 12.5),
        Forwarding("notifications", 0, None),  # nothing waits for it: 0, not absent
    ]


def test_with_the_shared_outbox_a_units_backlog_is_what_waits_for_its_handlers() -> None:
    found = outbox_backlogs(
        [stats("billing.charge_order", 4, 1), stats("billing.refund", 2), stats("orders.x", 9)],
        {"billing": ["billing.charge_order", "billing.refund"], "notifications": ["n.notify"]},
    )
    assert found == [Backlog("billing", {"outbox": 7}), Backlog("notifications", {"outbox": 0})]


async def test_the_in_memory_transport_counts_what_is_not_yet_acknowledged_per_partition() -> None:
    transport = InMemoryTransport(InMemoryBroker(partitions=2))
    await transport.send("billing", [envelope(f"order-{n}") for n in range(5)])
    found = await broker_backlog(transport, "billing", 1.0)
    assert found.total == 5
    assert set(found.partitions or {}) == {"0", "1"}
    transport.broker.set_reachable(False)
    down = await broker_backlog(transport, "billing", 1.0)
    assert (down.partitions, down.total) == (None, None)
    assert "in-memory broker is down" in (down.error or "")


async def test_a_broker_that_does_not_answer_in_time_gives_an_unknown_backlog() -> None:
    found = await broker_backlog(Stalled(), "billing", 0.01)
    assert found == Backlog("billing", None, "the broker did not answer within 0.01 s")


async def test_a_transport_without_a_lag_method_gives_an_unknown_backlog() -> None:
    found = await broker_backlog(object(), "billing", 1.0)
    assert found.partitions is None
    assert "no lag method" in (found.error or "")


async def test_the_probe_asks_the_broker_once_per_cache_period_and_once_at_a_time() -> None:
    broker, now = Counting(waiting=3), [100.0]
    probe = LagProbe(
        "storefront", "redis", ["billing"], forwards_to=["billing"], broker=broker,
        cache_seconds=2.0, clock=lambda: now[0],
    )  # fmt: skip
    outbox = [stats(forward_handler("billing"), 1, age=4.0)]
    first, second = await asyncio.gather(probe.measure(outbox), probe.measure(outbox))
    assert broker.asked == 1
    assert first == second
    assert first == UnitLag(
        "storefront", "redis", (Forwarding("billing", 1, 4.0),),
        (Backlog("billing", {"0": 3, "1": 0}),),
    )  # fmt: skip
    now[0] += 1.0
    await probe.measure([])
    assert broker.asked == 1  # cached
    now[0] += 1.5
    later = await probe.measure([])
    assert broker.asked == 2
    assert later.forwarding == (Forwarding("billing", 0, None),)  # from these statistics


async def test_a_stalled_broker_delays_a_measure_by_the_timeout_at_most() -> None:
    broker = Stalled()
    probe = LagProbe("storefront", "rabbitmq", ["billing"], broker=broker, timeout=0.01)
    found = await asyncio.wait_for(probe.measure([]), 5.0)
    assert found.backlogs[0].partitions is None
    probe.cache_seconds = 0.0
    await probe.close()
    stopped = await probe.measure([])  # after close, the broker is no longer asked
    assert stopped.backlogs == (Backlog("billing", None, "the unit is stopping"),)
    assert broker.asked == 1


def gauges(metrics: Metrics) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    text = generate_latest(metrics.registry).decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("dolmen_units_"):
                labels = sample.labels
                key = (sample.name, labels["destination"], labels.get("partition", ""))
                found[key] = sample.value
    return found


def test_the_gauges_say_unknown_with_nan_and_known_0_when_the_broker_did_not_answer() -> None:
    metrics = Metrics()
    forwarding = (Forwarding("billing", 2, 7.0),)
    metrics.units_lag(UnitLag("storefront", "redis", forwarding, (Backlog("billing", {"0": 5}),)))
    assert gauges(metrics) == {
        ("dolmen_units_forward_pending", "billing", ""): 2.0,
        ("dolmen_units_forward_oldest_age_seconds", "billing", ""): 7.0,
        ("dolmen_units_broker_pending", "billing", "0"): 5.0,
        ("dolmen_units_broker_lag_known", "billing", ""): 1.0,
    }
    unknown = (Backlog("billing", None, "the broker did not answer within 2 s"),)
    metrics.units_lag(UnitLag("storefront", "redis", forwarding, unknown))
    found = gauges(metrics)
    assert math.isnan(found["dolmen_units_broker_pending", "billing", "0"])
    assert found["dolmen_units_broker_lag_known", "billing", ""] == 0.0


def test_the_dashboard_view_sums_the_partitions_and_says_why_a_backlog_is_unknown() -> None:
    lag = UnitLag(
        "storefront", "nats", (Forwarding("billing", 1, None),),
        (Backlog("billing", {"0": 2, "1": 3}), Backlog("storefront", None, "timed out")),
    )  # fmt: skip
    view = lag_view(lag)
    assert view is not None
    assert view["backlogs"] == [
        {"destination": "billing", "known": True, "waiting": 5,
         "partitions": {"0": 2, "1": 3}, "error": None},
        {"destination": "storefront", "known": False, "waiting": None, "partitions": None,
         "error": "timed out"},
    ]  # fmt: skip
    assert view["forwarding"] == [{"destination": "billing", "waiting": 1, "oldest_age": None}]
    assert lag_view(None) is None
