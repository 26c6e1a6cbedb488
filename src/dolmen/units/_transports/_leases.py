"""Who reads a partition: a lease per partition, so one consumer at a time keeps its order."""

from __future__ import annotations

import os
import socket
import uuid


def consumer_name() -> str:
    """A name for this process's consumer, unique across processes and restarts."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
