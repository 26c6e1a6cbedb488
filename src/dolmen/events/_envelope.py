"""The envelope an event travels in: CloudEvents attributes around the event's data."""

from __future__ import annotations

import enum
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dolmen.events._trace import current_traceparent

if TYPE_CHECKING:
    from dolmen.events._event import Event

SPEC_VERSION = "1.0"


class _Current(enum.Enum):
    CURRENT = enum.auto()


CURRENT = _Current.CURRENT
"""The trace context current when the envelope is made (the default of ``Envelope.of``)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """One published event as stored and delivered (CloudEvents 1.0 attributes).

    ``id`` is unique and time-ordered (a UUIDv7), ``type`` the event's stable name
    (``orders.OrderPlaced``), ``version`` its schema version (the ``dataversion``
    extension), ``source`` the publishing app and module (``/shop/orders``), ``subject``
    the optional ordering key, ``time`` when it was published (seconds since the epoch),
    ``data`` the event as JSON, and ``traceparent`` the W3C trace context of the
    publisher, when there was one.
    """

    id: str
    type: str
    version: int
    source: str
    time: float
    data: str
    subject: str | None = None
    traceparent: str | None = None

    @classmethod
    def of(
        cls,
        event: Event,
        *,
        source: str,
        time: float,
        subject: str | None,
        traceparent: str | _Current | None = CURRENT,
    ) -> Envelope:
        """A new envelope for ``event`` published now: a fresh id, the current trace context.

        ``traceparent`` is the one captured when the event was published, when it was.
        """
        return cls(
            id=new_event_id(),
            type=event.event_name,
            version=event.event_version,
            source=source,
            time=time,
            data=event.model_dump_json(),
            subject=subject,
            traceparent=current_traceparent() if traceparent is CURRENT else traceparent,
        )

    def cloudevent(self) -> dict[str, object]:
        """The envelope as a CloudEvents 1.0 JSON object (structured mode)."""
        import json

        event: dict[str, object] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "dataversion": self.version,
            "time": datetime.fromtimestamp(self.time, UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": json.loads(self.data),
        }
        if self.subject is not None:
            event["subject"] = self.subject
        if self.traceparent is not None:
            event["traceparent"] = self.traceparent
        return event


_lock = threading.Lock()
_last = 0


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.

    Ids made by one process are strictly increasing, even within one millisecond (the
    time part is bumped past the last id's), so sorting by id is publish order.
    """
    global _last
    with _lock:
        now = time.time_ns() // 1_000_000 << 12  # milliseconds, and 12 bits of sequence
        value = _last = max(now, _last + 1)
    random = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    as_int = ((value >> 12) << 80) | (0x7 << 76) | ((value & 0xFFF) << 64) | (0b10 << 62) | random
    text = f"{as_int:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
