"""When a failed delivery is tried again: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Retry:
    """How a handler's failures are retried.

    ``attempts`` counts every try, the first included; after the last one the delivery
    is dead. Before try *n + 1* the dispatcher waits a random time between 0 and
    ``min(cap, base * 2 ** (n - 1))`` seconds ("full jitter", which spreads the retries of
    many failed deliveries instead of sending them back together). An exception that is
    an instance of one in ``give_up_on`` is not retried: the delivery is dead at once.

    ``@module.on(OrderPlaced, retry=Retry(attempts=5, base=1.0, cap=60.0))``
    """

    attempts: int = 10
    base: float = 0.5
    cap: float = 300.0
    give_up_on: tuple[type[BaseException], ...] = field(default=())

    def __post_init__(self) -> None:
        if isinstance(self.attempts, bool) or not isinstance(self.attempts, int):
            raise TypeError(f"Retry(attempts=...) must be an integer, got {self.attempts!r}")
        if self.attempts < 1:
            raise ValueError(f"Retry(attempts={self.attempts}): at least 1 (the first try)")
        if self.base < 0 or self.cap < 0:
            raise ValueError("Retry(base=..., cap=...) must not be negative")

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed try number ``attempt`` (1 for the first)."""
        return min(self.cap, self.base * 2.0 ** min(attempt - 1, 1000))  # no float overflow

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A wait drawn uniformly from ``[0, ceiling(attempt)]``."""
        return (rng or random).uniform(0.0, self.ceiling(attempt))

    def gives_up_on(self, error: BaseException) -> bool:
        """Whether ``error`` must not be retried."""
        return isinstance(error, (*self.give_up_on, NonRetryable))


class NonRetryable(Exception):  # it is raised to say "do not retry"
    """Raise it (or a subclass) in a handler to make the delivery dead at once."""
