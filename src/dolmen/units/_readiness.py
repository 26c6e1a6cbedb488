"""Whether the units this one calls answer: a readiness check per unit, cached a few seconds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

logger = logging.getLogger("dolmen.units")

FRESH_SECONDS = 5.0
"""How long an answer of another unit's ``/healthz`` counts: probes in between reuse it."""
PING_TIMEOUT_SECONDS = 1.0
"""How long a ping waits: under a probe's usual timeout, whatever the calls' timeout is."""


class PeerCheck:
    """A readiness check of unit ``unit``: its ``/healthz`` answers 200.

    One ping at a time and at most one every :data:`FRESH_SECONDS`: a burst of probes (a
    Kubernetes kubelet, a load balancer, several replicas' checks) shares the last answer.
    """

    def __init__(
        self,
        unit: str,
        url: str,
        client: Callable[[], httpx.AsyncClient],
        *,
        fresh_seconds: float = FRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.unit = unit
        self.url = url.rstrip("/")
        self.client = client
        self.fresh_seconds = fresh_seconds
        self.clock = clock
        self.pings = 0
        self._checked_at: float | None = None
        self._failure: str | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        """Return if the unit answered lately, else raise ``ConnectionError`` saying why."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._ping()
        if self._failure is not None:
            raise ConnectionError(self._failure)

    def _fresh(self) -> bool:
        at = self._checked_at
        return at is not None and self.clock() - at < self.fresh_seconds

    async def _ping(self) -> None:
        self.pings += 1
        try:
            response = await self.client().get(f"{self.url}/healthz", timeout=PING_TIMEOUT_SECONDS)
        except httpx.HTTPError as error:
            failure: str | None = (
                f"unit {self.unit!r} at {self.url} does not answer: {type(error).__name__}"
            )
        else:
            status = response.status_code
            failure = None if status == 200 else f"unit {self.unit!r} answered {status}"
        self._failure = failure
        self._checked_at = self.clock()
