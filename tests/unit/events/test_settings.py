"""``[events]`` settings that only make sense together are checked together."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dolmen.events import EventSettings


def test_polling_faster_when_idle_than_when_busy_is_refused_with_both_values() -> None:
    with pytest.raises(ValidationError, match=r"poll_min_seconds \(2.0\) is more than "
                       r"poll_max_seconds \(1.0\)"):  # fmt: skip
        EventSettings(poll_min_seconds=2, poll_max_seconds=1)


def test_the_busy_poll_defaults_to_a_millisecond() -> None:
    assert EventSettings().poll_min_seconds == 0.001
    assert EventSettings(poll_min_seconds=1, poll_max_seconds=1).poll_min_seconds == 1
