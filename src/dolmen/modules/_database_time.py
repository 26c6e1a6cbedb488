"""How long a connection has waited for its database: what a batch of deliveries subtracts.

A batch of one handler's deliveries stops when the handler is slow for reasons other than
its database (it calls another service, say): its deliveries then run side by side. Time
spent in the database is not held against it, so a busy database does not end batches,
where they help most.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection


class DatabaseTime:
    """Seconds the statements of ``connection`` took, and how many ran, until :meth:`close`."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection.sync_connection
        self.seconds = 0.0
        self.statements = 0
        self._began = 0.0
        event.listen(self._connection, "before_cursor_execute", self._before)
        event.listen(self._connection, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self.statements += 1
        self._began = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._began

    def close(self) -> None:
        """Stop counting."""
        if self._connection is not None:
            event.remove(self._connection, "before_cursor_execute", self._before)
            event.remove(self._connection, "after_cursor_execute", self._after)
