"""Each transport tells what waits on the broker for a destination, partition by partition."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence

from dolmen.events import Envelope
from dolmen.events._envelope import new_event_id
from dolmen.units import MeasuresLag, partition_of
from tests.integration.units.conftest import PARTITIONS, Broker
from tests.waiting import within


def placed(n: int) -> Envelope:
    data = json.dumps({"n": n})
    return Envelope(new_event_id(), "orders.OrderPlaced", 1, "/shop", 1.0, data, f"order-{n}")


async def test_the_lag_counts_unacknowledged_messages_per_partition_then_0_once_taken_in(
    broker: Broker, destination: str
) -> None:
    sender = await broker.transport()
    assert isinstance(sender, MeasuresLag)
    nothing = dict.fromkeys(range(PARTITIONS), 0)
    assert await sender.lag(destination) == nothing  # never sent to: nothing, no error
    sent = [placed(n) for n in range(10)]
    await sender.send(destination, sent)
    per_partition = Counter(partition_of(e, PARTITIONS) for e in sent)
    lag = await sender.lag(destination)
    # A broker counts messages, and one message carries a partition's events sent together:
    # at least one, at most one per event, wherever events wait; nothing elsewhere.
    assert {p: 1 <= lag[p] <= per_partition[p] for p in per_partition} == dict.fromkeys(
        per_partition, True
    )
    assert all(lag[p] == 0 for p in range(PARTITIONS) if p not in per_partition)
    taken: list[Envelope] = []

    async def take(batch: Sequence[Envelope]) -> None:
        taken.extend(batch)

    receiver = await broker.transport()
    subscription = await receiver.subscribe(destination, take)
    try:
        assert await within(30, lambda: len(taken) >= len(sent))
        lag = await sender.lag(destination)
        for _ in range(600):  # acknowledged just after the batch is taken in: 30 s at most
            if lag == nothing:
                break
            await asyncio.sleep(0.05)
            lag = await sender.lag(destination)
        assert lag == nothing
    finally:
        await subscription.stop()
