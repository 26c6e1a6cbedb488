"""The readiness check of a called unit: one ping per few seconds, whatever the probes do."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from dolmen.units._readiness import FRESH_SECONDS, PeerCheck


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def check_of(statuses: list[int], clock: Clock) -> tuple[PeerCheck, list[str]]:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        status = statuses.pop(0)
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return PeerCheck("catalog", "http://catalog.test/", lambda: client, clock=clock), seen


async def test_probes_within_a_few_seconds_share_one_ping() -> None:
    clock = Clock()
    check, seen = check_of([200, 0], clock)

    await asyncio.gather(*(check() for _ in range(10)))
    clock.now += FRESH_SECONDS - 0.1
    await check()
    assert seen == ["http://catalog.test/healthz"]

    clock.now += 0.1  # stale: the next probe asks again, and hears nothing
    with pytest.raises(ConnectionError, match=r"unit .catalog. at http://catalog\.test"):
        await check()
    assert len(seen) == 2


async def test_a_unit_answering_anything_but_200_is_not_ready() -> None:
    check, _ = check_of([503], Clock())

    with pytest.raises(ConnectionError, match="unit 'catalog' answered 503"):
        await check()
