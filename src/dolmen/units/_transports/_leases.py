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
    """Renew a lease every ``every`` seconds while the block runs (a slow batch keeps it)."""

    async def keep() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await renew()
            except Exception:
                logger.warning("renewing a partition's lease failed", exc_info=True)

    task = asyncio.get_running_loop().create_task(keep(), name="dolmen:lease")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
