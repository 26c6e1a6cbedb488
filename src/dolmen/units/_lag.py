"""Broker lag per unit: what waits to leave this unit, and what waits on the broker to come in.

Two places hold a unit's events on their way across units:

- its outbox, where *forwarding deliveries* wait to be sent to each destination unit
  (:class:`Forwarding`: how many, and the age of the oldest), read from the delivery
  statistics the metrics sample anyway;
- the broker, where messages wait for the destination unit to take them in
  (:class:`Backlog`: per partition, asked of the transport with a bounded timeout; a
  broker that does not answer in time gives an *unknown* backlog, never an error). With
  the ``database`` transport the units share one outbox: a unit's backlog is the
  deliveries waiting there for its handlers (one partition, ``outbox``).

A unit reports the backlog of its own destination and of each unit it sends events to, so
that a receiving unit that is down still shows its backlog growing in the senders' metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from dolmen.units._relay import FORWARD_PREFIX

if TYPE_CHECKING:
    from dolmen.events import HandlerStats

logger = logging.getLogger("dolmen.units")

LAG_TIMEOUT_SECONDS = 2.0
"""How long a broker may take to say what waits on it; then the backlog is unknown."""
LAG_CACHE_SECONDS = 2.0
"""The broker is asked at most this often, however many dashboards and samplers ask."""
OUTBOX_PARTITION = "outbox"
"""The one partition of a backlog in the shared outbox (the ``database`` transport)."""


@runtime_checkable
class MeasuresLag(Protocol):
    """A transport that can tell what waits on the broker for a destination (all Dolmen's can)."""

    async def lag(self, destination: str) -> Mapping[int, int]:
        """Messages not yet acknowledged by ``destination``'s consumers, per partition."""
        ...


@dataclass(frozen=True, slots=True)
class Forwarding:
    """Events waiting in this unit's outbox to be sent to ``destination``."""

    destination: str
    waiting: int
    """Forwarding deliveries pending or being sent."""
    oldest_age: float | None
    """Seconds since the oldest pending one was published; None when none is pending."""


@dataclass(frozen=True, slots=True)
class Backlog:
    """Messages waiting on the broker for unit ``destination`` to take them in."""

    destination: str
    partitions: Mapping[str, int] | None
    """Waiting messages per partition; None when unknown (the broker did not answer)."""
    error: str | None = None
    """Why the backlog is unknown."""

    @property
    def total(self) -> int | None:
        """Waiting messages in every partition; None when unknown."""
        return None if self.partitions is None else sum(self.partitions.values())


@dataclass(frozen=True, slots=True)
class UnitLag:
    """Where one unit's events across units stand (``Units.lag`` measures it)."""

    unit: str
    transport: str
    forwarding: tuple[Forwarding, ...]
    backlogs: tuple[Backlog, ...]


def forwarding_lag(
    stats: Sequence[HandlerStats], destinations: Collection[str]
) -> list[Forwarding]:
    """Per destination unit, its forwarding deliveries waiting in the outbox (0 when none)."""
    found = {unit: Forwarding(unit, 0, None) for unit in destinations}
    for line in stats:
        if line.handler.startswith(FORWARD_PREFIX):
            unit = line.handler.removeprefix(FORWARD_PREFIX)
            found[unit] = Forwarding(unit, line.pending + line.in_flight, line.oldest_pending_age)
    return [found[unit] for unit in sorted(found)]


def outbox_backlogs(
    stats: Sequence[HandlerStats], handlers: Mapping[str, Collection[str]]
) -> list[Backlog]:
    """Per unit, the deliveries waiting for its handlers in the shared outbox."""
    waiting = {line.handler: line.pending + line.in_flight for line in stats}
    return [
        Backlog(unit, {OUTBOX_PARTITION: sum(waiting.get(name, 0) for name in handlers[unit])})
        for unit in sorted(handlers)
    ]


async def broker_backlog(transport: object, destination: str, seconds: float) -> Backlog:
    """What waits on the broker for ``destination``; unknown when it does not answer in time."""
    if not isinstance(transport, MeasuresLag):
        return Backlog(destination, None, "the transport cannot tell (it has no lag method)")
    try:
        async with asyncio.timeout(seconds):
            found = await transport.lag(destination)
    except TimeoutError:
        return Backlog(destination, None, f"the broker did not answer within {seconds:g} s")
    except Exception as error:
        return Backlog(destination, None, f"could not ask the broker: {error}")
    return Backlog(destination, {str(p): n for p, n in sorted(found.items())})


class LagProbe:
    """Measures one unit's lag, the broker's part bounded in time, cached and asked once at a time.

    The forwarding part comes from the outbox's statistics; the broker's part waits at most
    ``timeout`` seconds, is kept ``cache_seconds``, and concurrent measures share one ask.

    ``broker`` is the unit's transport (destinations are units' names); None with the
    ``database`` transport, whose backlogs are the shared outbox's (``handlers``: each
    unit's handler names). ``destinations`` are the units whose backlog this unit reports.
    """

    def __init__(
        self,
        unit: str,
        transport: str,
        destinations: Collection[str],
        *,
        forwards_to: Collection[str] = (),
        broker: object | None = None,
        handlers: Mapping[str, Collection[str]] | None = None,
        timeout: float = LAG_TIMEOUT_SECONDS,
        cache_seconds: float = LAG_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit = unit
        self.transport = transport
        self.destinations = sorted(set(destinations))
        self.forwards_to = sorted(set(forwards_to))
        self.broker = broker
        self.handlers = {u: list(handlers[u]) for u in self.destinations} if handlers else {}
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._backlogs: tuple[float, list[Backlog]] | None = None
        self._asking: asyncio.Task[list[Backlog]] | None = None
        self._closed = False

    async def measure(self, stats: Sequence[HandlerStats]) -> UnitLag:
        """The unit's lag now (the broker's part at most ``cache_seconds`` old)."""
        if self.broker is None:
            backlogs = outbox_backlogs(stats, self.handlers)
        else:
            backlogs = await self._broker_backlogs()
        forwarding = forwarding_lag(stats, self.forwards_to) if self.broker is not None else []
        return UnitLag(self.unit, self.transport, tuple(forwarding), tuple(backlogs))

    async def close(self) -> None:
        """Stop asking the broker (the app stops): later measures say the backlog is unknown."""
        self._closed = True
        asking, self._asking = self._asking, None
        if asking is not None and not asking.done():
            asking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asking

    async def _broker_backlogs(self) -> list[Backlog]:
        now = self.clock()
        cached = self._backlogs
        if cached is not None and 0 <= now - cached[0] < self.cache_seconds:
            return cached[1]
        if self._closed:
            return [Backlog(unit, None, "the unit is stopping") for unit in self.destinations]
        if self._asking is None:
            self._asking = asyncio.create_task(self._ask())
        asking = self._asking
        try:
            backlogs = await asyncio.shield(asking)
        finally:
            if asking.done() and self._asking is asking:
                self._asking = None
        self._backlogs = (self.clock(), backlogs)
        return backlogs

    async def _ask(self) -> list[Backlog]:
        found = await asyncio.gather(
            *(broker_backlog(self.broker, unit, self.timeout) for unit in self.destinations)
        )
        for backlog in found:
            if backlog.partitions is None:
                logger.info("broker lag of unit %r unknown: %s", backlog.destination, backlog.error)
        return list(found)
