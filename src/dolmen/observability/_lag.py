"""A unit's broker lag as the metrics and the dashboard read it (``dolmen.units`` measures it).

Observability sits below the units: it knows the shape of a measure, not who makes one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from dolmen.events import HandlerStats


class ForwardingLike(Protocol):
    """Events waiting in the unit's outbox to be sent to ``destination``."""

    @property
    def destination(self) -> str: ...
    @property
    def waiting(self) -> int: ...
    @property
    def oldest_age(self) -> float | None: ...


class BacklogLike(Protocol):
    """Messages waiting on the broker for ``destination``, per partition (None: unknown)."""

    @property
    def destination(self) -> str: ...
    @property
    def partitions(self) -> Mapping[str, int] | None: ...
    @property
    def error(self) -> str | None: ...


class UnitLagLike(Protocol):
    """One unit's lag: its forwarding deliveries and the backlogs it watches."""

    @property
    def unit(self) -> str: ...
    @property
    def transport(self) -> str: ...
    @property
    def forwarding(self) -> Sequence[ForwardingLike]: ...
    @property
    def backlogs(self) -> Sequence[BacklogLike]: ...


LagSource = Callable[["Sequence[HandlerStats]"], Awaitable["UnitLagLike | None"]]
"""Measures this process's unit's lag from the outbox's statistics (``Units.lag``)."""


def lag_view(lag: UnitLagLike | None) -> dict[str, Any] | None:
    """The dashboard's view of a unit's lag; None when the app is not split in units."""
    if lag is None:
        return None
    return {
        "unit": lag.unit,
        "transport": lag.transport,
        "forwarding": [
            {"destination": f.destination, "waiting": f.waiting, "oldest_age": f.oldest_age}
            for f in lag.forwarding
        ],
        "backlogs": [
            {
                "destination": b.destination,
                "known": b.partitions is not None,
                "waiting": None if b.partitions is None else sum(b.partitions.values()),
                "partitions": None if b.partitions is None else dict(b.partitions),
                "error": b.error,
            }
            for b in lag.backlogs
        ],
    }
