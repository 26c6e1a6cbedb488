"""The event that crosses from ``source`` to ``sink``."""

from dataclasses import dataclass

from modulith import event


@event
@dataclass(frozen=True)
class Happened:
    number: int
    sent_at: float
