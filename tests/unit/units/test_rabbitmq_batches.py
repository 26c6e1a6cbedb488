"""A RabbitMQ consumer's batch: the messages waiting, and those that come within two quiet turns."""

from __future__ import annotations

import asyncio
from typing import Any

from dolmen.events import Envelope
from dolmen.units._transports import _rabbitmq
from dolmen.units._transports._port import encode


class Message:
    """What ``_take`` reads of a delivered message (aiormq's ``DeliveredMessage``): its body."""

    def __init__(self, number: int) -> None:
        self.body = encode(Envelope(f"e{number}", "t.Happened", 1, "/t", 0.0, "{}", f"s{number}"))


def ids(envelopes: list[Envelope]) -> list[str]:
    return [envelope.id for envelope in envelopes]


async def test_a_batch_takes_the_waiting_messages_and_those_that_follow_within_quiet_turns() -> (
    None
):
    buffer: asyncio.Queue[Any] = asyncio.Queue()
    for number in (1, 2):
        buffer.put_nowait(Message(number))

    async def later() -> None:
        await asyncio.sleep(0)
        buffer.put_nowait(Message(3))  # a turn later: still this batch

    feeder = asyncio.create_task(later())
    batch, envelopes = await _rabbitmq._take(buffer, 100)
    await feeder

    assert ids(envelopes) == ["e1", "e2", "e3"]
    assert len(batch) == 3


async def test_a_batch_goes_after_quiet_turns_without_waiting_for_the_linger() -> None:
    buffer: asyncio.Queue[Any] = asyncio.Queue()
    buffer.put_nowait(Message(1))
    turns = 0
    stop = asyncio.Event()

    async def count() -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count())
    await asyncio.sleep(0)  # the counter starts
    started = turns
    _, envelopes = await _rabbitmq._take(buffer, 100)
    waited = turns - started
    stop.set()
    await counter

    assert ids(envelopes) == ["e1"]
    assert waited <= _rabbitmq.QUIET_TURNS + 1 < _rabbitmq.LINGER_TURNS


async def test_a_batch_stops_at_its_most() -> None:
    buffer: asyncio.Queue[Any] = asyncio.Queue()
    for number in range(5):
        buffer.put_nowait(Message(number))

    batch, envelopes = await _rabbitmq._take(buffer, 3)

    assert ids(envelopes) == ["e0", "e1", "e2"]
    assert buffer.qsize() == 2
    assert len(batch) == 3
