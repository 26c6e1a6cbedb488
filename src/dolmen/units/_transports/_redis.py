"""Events across units over Redis Streams (redis-py): a stream per partition, leased consumers."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dolmen.events import Envelope
from dolmen.units._transports._backoff import Backoff
from dolmen.units._transports._consumers import Consumers
from dolmen.units._transports._leases import consumer_name, renewed
from dolmen.units._transports._port import (
    DEFAULT_PARTITIONS,
    OnBatch,
    TransportError,
    TransportSubscription,
    packed,
    take_in,
    unpacked,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("dolmen.units")
GROUP = "dolmen"
RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
"""Keep (or take, when free) a partition's lease: 1 when this consumer holds it."""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


def _redis() -> Any:
    try:
        import redis.asyncio
    except ImportError as missing:
        raise TransportError(
            "the redis transport needs redis-py: pip install 'dolmen[redis]'"
        ) from missing
    return redis.asyncio


class RedisTransport:
    """A :class:`Transport` over Redis Streams: ``pip install 'dolmen[redis]'``.

    A destination is ``partitions`` streams, ``dolmen:<unit>:<n>``, each read through the
    consumer group ``dolmen`` by the one consumer that holds the partition's lease (a key
    renewed every ``lease_seconds / 3``, also while a slow batch is being taken in): one
    subject's events are taken in one at a time, in order.
    A batch is acknowledged (``XACK``, then ``XDEL``) after ``on_batch`` returned;
    the new holder of a partition first claims what its earlier holder left unacknowledged
    (``XAUTOCLAIM``), so a consumer that died loses nothing once its lease runs out.
    Redis keeps the streams only as durably as its persistence is set (AOF for no loss).
    """

    def __init__(
        self,
        url: str,
        *,
        partitions: int = DEFAULT_PARTITIONS,
        batch_size: int = 100,
        lease_seconds: float = 10.0,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.partitions = partitions
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.timeout = timeout
        self.name = consumer_name()
        self._client: Redis | None = None
        self._subscriptions: list[Consumers] = []
        self._groups: set[str] = set()

    @staticmethod
    def stream(destination: str, partition: int) -> str:
        """The key of one partition's stream."""
        return f"dolmen:{destination}:{partition}"

    def _redis(self) -> Redis:
        if self._client is None:
            self._client = _redis().from_url(
                self.url, protocol=2, socket_timeout=self.timeout + self.lease_seconds,
                socket_connect_timeout=self.timeout,
            )  # fmt: skip
        return self._client

    async def open(self) -> None:
        """Connect (raises :class:`TransportError` when Redis cannot be reached)."""
        await self.ping()

    async def close(self) -> None:
        """Stop the subscriptions (giving their partitions up) and disconnect."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def ping(self) -> None:
        """Raise :class:`TransportError` unless Redis answers."""
        try:
            await self._redis().ping()
        except Exception as error:
            raise TransportError(f"Redis at {self.url.split('@')[-1]}: {error}") from error

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        """Append an entry per partition, holding its envelopes, in one round trip."""
        try:
            async with self._redis().pipeline(transaction=False) as pipe:
                for partition, body, _ in packed(envelopes, self.partitions):
                    pipe.xadd(self.stream(destination, partition), {"e": body})
                await pipe.execute()
        except Exception as error:
            raise TransportError(f"sending to {destination!r} over Redis: {error}") from error

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        """Consume each partition of ``destination`` whose lease this transport gets."""
        consumers = Consumers(f"redis:{destination}")
        for partition in range(self.partitions):
            stream = self.stream(destination, partition)
            consumers.run(self._consume(stream, on_batch, consumers), str(partition))
            consumers.on_stop(self._release(stream))
        self._subscriptions.append(consumers)
        return consumers

    def _release(self, stream: str) -> Any:
        async def release() -> None:
            await self._redis().eval(RELEASE, 1, f"{stream}:owner", self.name)

        return release

    async def drop(self, destination: str) -> None:
        """Delete ``destination``'s streams and leases (tests, a unit retired)."""
        keys = [self.stream(destination, p) for p in range(self.partitions)]
        await self._redis().delete(*keys, *(f"{key}:owner" for key in keys))

    # -- lag (dolmen.units._lag.MeasuresLag) -------------------------------------------

    async def lag(self, destination: str) -> dict[int, int]:
        """Entries not yet acknowledged in each partition stream of ``destination``.

        From ``XINFO GROUPS``: the group's ``lag`` (entries not yet read) plus its
        ``pending`` (read, not acknowledged); where Redis cannot tell the lag (older than
        7, or no group yet), ``XLEN``, which counts the same entries here since an
        acknowledged entry is deleted. One round trip for every partition.
        """
        streams = [self.stream(destination, p) for p in range(self.partitions)]
        async with self._redis().pipeline(transaction=False) as pipe:
            for stream in streams:
                pipe.xlen(stream)
                pipe.xinfo_groups(stream)
            replies = await pipe.execute(raise_on_error=False)
        found: dict[int, int] = {}
        for partition in range(self.partitions):
            length, groups = replies[2 * partition], replies[2 * partition + 1]
            if isinstance(length, Exception):
                raise length
            found[partition] = _waiting(groups, int(length))
        return found

    # -- consuming ---------------------------------------------------------------------

    async def _consume(self, stream: str, on_batch: OnBatch, consumers: Consumers) -> None:
        backoff = Backoff()
        lease_ms, every = int(self.lease_seconds * 1000), self.lease_seconds / 3
        owner = f"{stream}:owner"
        renew_at = 0.0  # when the lease is renewed next (0: not held)
        pending = True  # what is left unacknowledged comes first (after a take-over, a failure)
        while not consumers.stopping:
            try:
                client = self._redis()
                if time.monotonic() >= renew_at:
                    if not await client.eval(RENEW, 1, owner, self.name, lease_ms):
                        renew_at, pending = 0.0, True
                        await asyncio.sleep(every)
                        continue
                    renew_at = time.monotonic() + every
                await self._group(client, stream)
                block_ms = max(int((renew_at - time.monotonic()) * 1000), 1)
                entries, pending = await self._next(client, stream, block_ms, pending)
                if entries:
                    pending = True  # until acknowledged
                    renew = functools.partial(client.eval, RENEW, 1, owner, self.name, lease_ms)
                    async with renewed(renew, every):
                        await take_in(on_batch, _envelopes(entries), self.batch_size)
                    ids = [entry_id for entry_id, _ in entries]
                    async with client.pipeline(transaction=False) as pipe:
                        pipe.xack(stream, GROUP, *ids)
                        pipe.xdel(stream, *ids)
                        await pipe.execute()
                    pending = False
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("consuming %s failed; its unacknowledged entries come again",
                               stream, exc_info=True)  # fmt: skip
                await backoff.wait()

    async def _group(self, client: Redis, stream: str) -> None:
        if stream in self._groups:
            return
        try:
            await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except Exception as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._groups.add(stream)

    async def _next(
        self, client: Any, stream: str, block_ms: int, pending: bool
    ) -> tuple[list[tuple[Any, Any]], bool]:
        """What an earlier holder (or a failed try) left pending, else new entries.

        Also whether to look for pending entries again next time (while some were found).
        """
        if pending:
            claimed = await client.xautoclaim(
                stream, GROUP, self.name, min_idle_time=0, start_id="0-0", count=self.batch_size
            )
            if claimed[1]:
                return list(claimed[1]), True
        read = await client.xreadgroup(
            GROUP, self.name, {stream: ">"}, count=self.batch_size, block=block_ms
        )
        return (list(read[0][1]) if read else []), False  # RESP2: [[stream, entries]]


def _waiting(groups: Any, length: int) -> int:
    """Unacknowledged entries of Dolmen's group by ``XINFO GROUPS``, else the stream's length."""
    if isinstance(groups, Exception):  # no stream yet: XLEN said 0
        return length
    for group in groups:
        name = group.get("name")
        if name in (GROUP, GROUP.encode()) and group.get("lag") is not None:
            return int(group["lag"]) + int(group.get("pending") or 0)
    return length


def _envelopes(entries: Sequence[tuple[Any, Any]]) -> list[Envelope]:
    envelopes = []
    for _, fields in entries:
        try:
            envelopes += unpacked(fields[b"e"])
        except (KeyError, ValueError, TypeError):
            logger.error("dropped a stream entry that is no Dolmen envelope: %r", fields)
    return envelopes
