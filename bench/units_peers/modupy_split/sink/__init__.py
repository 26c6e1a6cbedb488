"""The listening module, in a worker process of its own: it records when each event arrived.

``GET /sink/seen`` says how many events it handled (warm-up ones included) and
``GET /sink/latencies`` the seconds from just before the publisher's commit until the
listener ran, for the events with a number of 0 or more (the others warm up).
"""

import time

from fastapi import APIRouter
from modulith import listener

from modupy_split.contracts import Happened

seen: list[int] = [0]
latencies: list[tuple[int, float]] = []
router = APIRouter()


@listener
async def on_happened(event: Happened) -> None:
    seen[0] += 1
    if event.number >= 0:
        latencies.append((event.number, time.time() - event.sent_at))


@router.get("/seen")
async def count() -> dict[str, int]:
    return {"count": seen[0]}


@router.get("/latencies")
async def recorded() -> list[tuple[int, float]]:
    return latencies
