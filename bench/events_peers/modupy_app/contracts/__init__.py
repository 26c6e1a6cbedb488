"""The events of the modupy peer's application (bench/events_peers/modupy_peer.py)."""

from dataclasses import dataclass

from modulith import event


@event
@dataclass(frozen=True)
class Ping:
    number: int
    sent_at: float


@event
@dataclass(frozen=True)
class PingInsert:
    number: int
    sent_at: float
