"""Who reads a partition: a lease per partition, so one consumer at a time keeps its order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

logger = logging.getLogger("dolmen.units")


def consumer_name() -> str:
    """A name for this process's consumer, unique across processes and restarts."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def renewed(renew: Callable[[], Awaitable[object]], every: float) -> AsyncIterator[None]:
    """Renew a lease every ``every`` seconds while the block runs (a slow batch keeps it).

    The renewals stop when the block ends even if one of them swallows its cancellation:
    a broker client's request that is cancelled just as its answer arrives returns the
    answer instead of raising (``asyncio.wait_for`` before Python 3.12; nats-py's flush
    catches ``CancelledError``). The loop then sees the block ended, rather than renewing
    the lease forever while the consumer waits for it to stop (a partition stalled for
    good, seen under heavy CPU load).
    """
    ended = asyncio.Event()

    async def keep() -> None:
        while not ended.is_set():
            await asyncio.sleep(every)
            if ended.is_set():
                return
            try:
                await renew()
            except Exception:
                logger.warning("renewing a partition's lease failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(keep(), name="dolmen:lease")
    try:
        yield
    finally:
        ended.set()
        task.cancel()  # (a renewal under way ends now, or at worst when it is answered)
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the consumer itself is being stopped: not ours to swallow
