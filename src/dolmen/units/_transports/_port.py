"""The Transport port: a pipe between two units' outboxes, through a broker."""

from __future__ import annotations

import json
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from dolmen.events import Envelope

OnBatch = Callable[[Sequence[Envelope]], Awaitable[None]]
"""What a subscriber does with a batch of received envelopes. The broker acknowledges the
batch once it returns; if it raises (or the process dies first), the batch comes again."""

DEFAULT_PARTITIONS = 8
"""Partitions of a destination: the events of one subject always go to the same one, and
each partition is read by one consumer at a time, in order."""


class TransportError(ConnectionError):
    """The broker could not be reached or refused the operation; the outbox keeps the events."""


class TransportSubscription(Protocol):
    """A running subscription of a transport (its consumers, in the background)."""

    async def stop(self) -> None:
        """Stop consuming; a batch being taken in is not acknowledged, and comes back later."""
        ...


class Transport(Protocol):
    """Carries envelopes to another unit through a broker, at least once, in order per subject.

    ``send`` returns once the broker has stored every envelope (publisher confirms), so the
    sending unit may mark its forwarding delivery done. ``subscribe`` reads a destination's
    envelopes in batches and acknowledges a batch only after ``on_batch`` returned: a batch
    whose ``on_batch`` raised, or whose consumer died, is delivered again. Envelopes with
    the same subject reach ``on_batch`` in the order they were sent, even with several
    consumer processes (each partition of a destination has one consumer at a time).
    """

    async def open(self) -> None:
        """Connect to the broker (at the app's start)."""
        ...

    async def close(self) -> None:
        """Stop the subscriptions (unacknowledged batches come back later) and disconnect."""
        ...

    async def ping(self) -> None:
        """Raise :class:`TransportError` unless the broker answers (the unit's readiness)."""
        ...

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        """Store ``envelopes`` in the broker for unit ``destination``; raises when it could not."""
        ...

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        """Start consuming ``destination``'s envelopes in the background, until stopped."""
        ...


def partition_of(envelope: Envelope, partitions: int) -> int:
    """The partition an envelope goes to: by its subject (by its id when it has none).

    CRC-32, not ``hash()``: every process must compute the same partition.
    """
    key = envelope.subject if envelope.subject is not None else envelope.id
    return zlib.crc32(key.encode()) % partitions


PACK_BYTES = 256 * 1024
"""The most a message that carries several envelopes holds (well under NATS's 1 MiB)."""


def encode(envelope: Envelope) -> bytes:
    """An envelope as a broker message's body (JSON)."""
    return json.dumps(_fields(envelope), separators=(",", ":")).encode()


def packed(envelopes: Sequence[Envelope], partitions: int) -> list[tuple[int, bytes, int]]:
    """``envelopes`` as message bodies, one or a few per partition: (partition, body, count).

    A body is a JSON array of envelopes (one envelope alone is a JSON object, as
    :func:`encode` writes it), in the order sent, at most about :data:`PACK_BYTES`: one
    message and one broker confirmation carry many events, which is what makes a batch
    cheap to send. Each partition's bodies come in order, so one subject's events stay in
    the order sent.
    """
    by_partition: dict[int, list[bytes]] = {}
    for envelope in envelopes:
        by_partition.setdefault(partition_of(envelope, partitions), []).append(encode(envelope))
    bodies: list[tuple[int, bytes, int]] = []
    for partition, encoded in by_partition.items():
        chunk: list[bytes] = []
        size = 0
        for item in encoded:
            if chunk and size + len(item) > PACK_BYTES:
                bodies.append((partition, _array(chunk), len(chunk)))
                chunk, size = [], 0
            chunk.append(item)
            size += len(item) + 1
        bodies.append((partition, _array(chunk), len(chunk)))
    return bodies


async def take_in(on_batch: OnBatch, envelopes: Sequence[Envelope], most: int) -> None:
    """Hand ``envelopes`` to ``on_batch`` in order, at most ``most`` at a time."""
    for start in range(0, max(len(envelopes), 1), most):
        await on_batch(envelopes[start : start + most])


def _array(encoded: list[bytes]) -> bytes:
    return encoded[0] if len(encoded) == 1 else b"[" + b",".join(encoded) + b"]"


def unpacked(body: bytes) -> list[Envelope]:
    """The envelopes in a message's body (one, or a JSON array of them); raises ValueError."""
    try:
        fields = json.loads(body)
    except ValueError as error:
        raise ValueError(f"not a Dolmen envelope: {body[:200]!r}") from error
    items = fields if isinstance(fields, list) else [fields]
    return [_envelope(item, body) for item in items]


def _fields(envelope: Envelope) -> dict[str, object]:
    return {
        "id": envelope.id,
        "type": envelope.type,
        "version": envelope.version,
        "source": envelope.source,
        "time": envelope.time,
        "data": envelope.data,
        "subject": envelope.subject,
        "traceparent": envelope.traceparent,
    }


def decode(body: bytes) -> Envelope:
    """The envelope in a broker message's body; raises ValueError when it is not one."""
    try:
        fields = json.loads(body)
    except ValueError as error:
        raise ValueError(f"not a Dolmen envelope: {body[:200]!r}") from error
    return _envelope(fields, body)


def _envelope(fields: object, body: bytes) -> Envelope:
    if not isinstance(fields, dict):
        raise ValueError(f"not a Dolmen envelope: {body[:200]!r}")
    try:
        return Envelope(
            id=str(fields["id"]),
            type=str(fields["type"]),
            version=int(fields["version"]),
            source=str(fields["source"]),
            time=float(fields["time"]),
            data=str(fields["data"]),
            subject=None if fields.get("subject") is None else str(fields["subject"]),
            traceparent=None if fields.get("traceparent") is None else str(fields["traceparent"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"not a Dolmen envelope: {body[:200]!r}") from error
