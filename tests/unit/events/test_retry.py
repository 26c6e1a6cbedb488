"""Retry: exponential backoff with full jitter, and the errors that are never retried."""

from __future__ import annotations

import random

import pytest

from dolmen.events import NonRetryable, PoisonEvent, Retry


def test_the_longest_wait_doubles_from_base_and_stops_at_cap() -> None:
    retry = Retry(base=0.5, cap=5.0)

    assert [retry.ceiling(attempt) for attempt in range(1, 8)] == [
        0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0,
    ]  # fmt: skip


def test_a_wait_is_drawn_between_zero_and_the_ceiling() -> None:
    retry = Retry(base=1.0, cap=8.0)
    rng = random.Random(7)

    for attempt in range(1, 7):
        ceiling = retry.ceiling(attempt)
        waits = [retry.delay(attempt, rng) for _ in range(200)]
        assert all(0.0 <= wait <= ceiling for wait in waits)
        # full jitter spreads the waits over the whole range, not just near the ceiling
        assert min(waits) < ceiling * 0.1
        assert max(waits) > ceiling * 0.9


def test_the_same_seed_draws_the_same_waits() -> None:
    retry = Retry(base=1.0, cap=60.0)

    first = [retry.delay(n, random.Random(3)) for n in range(1, 6)]
    second = [retry.delay(n, random.Random(3)) for n in range(1, 6)]

    assert first == second


@pytest.mark.parametrize(
    ("error", "gives_up"),
    [
        (KeyError("sku"), True),  # listed in give_up_on
        (NonRetryable("bad data"), True),  # always
        (PoisonEvent("unreadable"), True),  # a NonRetryable
        (TimeoutError("gateway"), False),
    ],
)
def test_gives_up_on_listed_errors_and_non_retryable_ones(error: Exception, gives_up: bool) -> None:
    assert Retry(give_up_on=(KeyError,)).gives_up_on(error) is gives_up


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"attempts": 0}, ValueError), ({"attempts": 2.0}, TypeError), ({"base": -1}, ValueError)],
)
def test_a_retry_policy_refuses_impossible_settings(
    kwargs: dict[str, float], error: type[Exception]
) -> None:
    with pytest.raises(error):
        Retry(**kwargs)  # type: ignore[arg-type]
