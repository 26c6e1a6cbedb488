"""Events across units over NATS JetStream (nats-py): a durable consumer per partition, leased."""

from __future__ import annotations

import asyncio
import hashlib
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
    from nats.aio.client import Client
    from nats.js import JetStreamContext
    from nats.js.kv import KeyValue

logger = logging.getLogger("dolmen.units")
LEASES = "dolmen_leases"


def _nats() -> Any:
    try:
        import nats
    except ImportError as missing:
        raise TransportError(
            "the nats transport needs nats-py: pip install 'dolmen[nats]'"
        ) from missing
    return nats


class NatsTransport:
    """A :class:`Transport` over NATS JetStream: ``pip install 'dolmen[nats]'``.

    A destination is the stream ``DOLMEN_<unit>`` on subjects ``dolmen.<unit>.<n>``, one
    per partition, each with a durable pull consumer (explicit acks, ``ack_wait`` of
    ``lease_seconds``). A partition is read by the one consumer holding its lease in the
    key-value bucket ``dolmen_leases_<lease>ms`` (renewed every ``lease_seconds / 3``, also
    while a slow batch is taken in; an entry not renewed expires with the bucket's TTL), so
    one subject's events are taken in one at a time, in order.
    A batch is acknowledged after ``on_batch`` returned; if it raised, it is negatively
    acknowledged and comes again first; a consumer that died leaves its batch to be
    delivered again once ``ack_wait`` passed (the next holder waits for that).
    A send publishes one message per partition (a few for a large batch) carrying its
    envelopes, with a digest of its body as ``Nats-Msg-Id``: JetStream drops a copy sent
    again within its duplicate window.
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
        self.name = consumer_name().encode()
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self._streams: set[str] = set()
        self._lock = asyncio.Lock()
        self._subscriptions: list[Consumers] = []

    @staticmethod
    def stream(destination: str) -> str:
        """The name of ``destination``'s stream."""
        return f"DOLMEN_{destination}"

    @staticmethod
    def subject(destination: str, partition: int) -> str:
        """The subject of one partition."""
        return f"dolmen.{destination}.{partition}"

    async def open(self) -> None:
        """Connect (raises :class:`TransportError` when NATS cannot be reached)."""
        await self._connected()

    async def close(self) -> None:
        """Stop the subscriptions (giving their partitions up) and disconnect."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        client, self._client, self._js, self._kv = self._client, None, None, None
        self._streams.clear()
        if client is not None and not client.is_closed:
            await client.close()

    async def ping(self) -> None:
        """Raise :class:`TransportError` unless NATS and JetStream answer."""
        try:
            js = await self._connected()
            await js.account_info()
        except TransportError:
            raise
        except Exception as error:
            raise TransportError(f"NATS JetStream: {error!r}") from error

    async def _connected(self) -> JetStreamContext:
        async with self._lock:
            if self._client is None or self._client.is_closed:
                try:
                    # No reconnection inside the client: a lost connection closes it, and
                    # the next send, ping or consumer turn connects again (with backoff).
                    # (max_reconnect_attempts=0 would mean "forever" to the first connect.)
                    connecting = _nats().connect(
                        self.url, connect_timeout=self.timeout, allow_reconnect=False,
                        max_reconnect_attempts=1, reconnect_time_wait=0.2, error_cb=_log_error,
                    )  # fmt: skip
                    client = await asyncio.wait_for(connecting, self.timeout)
                except Exception as error:
                    raise TransportError(f"NATS at {self.url.split('@')[-1]}: {error!r}") from error
                self._client, self._kv = client, None
                self._js = client.jetstream(timeout=self.timeout)
                self._streams.clear()
            if self._js is None:  # (only while the client connects)
                raise TransportError("NATS: not connected")
            return self._js

    async def _stream(self, js: JetStreamContext, destination: str) -> None:
        if destination in self._streams:
            return
        await js.add_stream(name=self.stream(destination), subjects=[f"dolmen.{destination}.*"])
        self._streams.add(destination)

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        """Publish a few messages per partition and wait for JetStream's acknowledgements."""
        try:
            js = await self._connected()
            await self._stream(js, destination)
            await asyncio.gather(
                *(
                    js.publish(
                        self.subject(destination, partition),
                        body,
                        headers={"Nats-Msg-Id": hashlib.blake2b(body, digest_size=16).hexdigest()},
                    )
                    for partition, body, _ in packed(envelopes, self.partitions)
                )
            )
        except TransportError:
            raise
        except Exception as error:
            raise TransportError(f"sending to {destination!r} over NATS: {error!r}") from error

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        """Consume each partition of ``destination`` whose lease this transport gets."""
        consumers = Consumers(f"nats:{destination}")
        for partition in range(self.partitions):
            consumers.run(
                self._consume(destination, partition, on_batch, consumers), str(partition)
            )
            consumers.on_stop(self._release(destination, partition))
        self._subscriptions.append(consumers)
        return consumers

    async def drop(self, destination: str) -> None:
        """Delete ``destination``'s stream, its consumers and messages (tests, a unit retired)."""
        js = await self._connected()
        try:
            await js.delete_stream(self.stream(destination))
        except _nats().js.errors.NotFoundError:
            pass  # never sent to
        self._streams.discard(destination)

    # -- lag (dolmen.units._lag.MeasuresLag) -------------------------------------------

    async def lag(self, destination: str) -> dict[int, int]:
        """Messages not yet acknowledged on each partition of ``destination``.

        Each partition's durable consumer counts them (``num_pending``, not yet
        delivered, plus ``num_ack_pending``, delivered and not acknowledged); a partition
        whose consumer does not exist yet has every message of its subject waiting.
        """
        js = await self._connected()
        errors = _nats().js.errors
        stream = self.stream(destination)
        found: dict[int, int] = {}
        subjects: dict[str, int] | None = None
        for partition in range(self.partitions):
            try:
                info = await js.consumer_info(stream, f"dolmen-{partition}")
            except errors.NotFoundError:
                if subjects is None:
                    subjects = await self._subjects(js, destination)
                found[partition] = subjects.get(self.subject(destination, partition), 0)
                continue
            found[partition] = (info.num_pending or 0) + (info.num_ack_pending or 0)
        return found

    async def _subjects(self, js: JetStreamContext, destination: str) -> dict[str, int]:
        """Messages per subject of ``destination``'s stream (none when it does not exist)."""
        try:
            info = await js.stream_info(self.stream(destination), f"dolmen.{destination}.*")
        except _nats().js.errors.NotFoundError:
            return {}
        return dict(info.state.subjects or {})

    # -- leases and consuming ----------------------------------------------------------

    async def _leases(self, js: JetStreamContext) -> KeyValue:
        if self._kv is None:
            bucket = f"{LEASES}_{round(self.lease_seconds * 1000)}ms"  # one TTL per bucket
            self._kv = await js.create_key_value(bucket=bucket, ttl=self.lease_seconds)
        return self._kv

    def _release(self, destination: str, partition: int) -> Any:
        async def release() -> None:
            kv = self._kv
            if kv is None:
                return
            key = f"{destination}.{partition}"
            entry = await kv.get(key)
            if entry.value == self.name:
                await kv.delete(key, last=entry.revision)

        return release

    async def _hold(self, kv: KeyValue, key: str, revision: int | None) -> int | None:
        """Renew or take the lease: its new revision, or None when another consumer has it.

        A write whose answer was lost (a timeout on a busy machine) still moved the entry
        on: the entry then holds this consumer's name at a revision it does not know, and
        the lease is this consumer's at that revision, rather than lost until it expires.
        """
        errors = _nats().js.errors
        try:
            if revision is not None:
                return await kv.update(key, self.name, last=revision)
            return await kv.create(key, self.name)  # never held, given up, or expired
        except errors.KeyWrongLastSequenceError:
            pass
        try:
            entry = await kv.get(key)
        except errors.KeyNotFoundError:  # expired or deleted meanwhile: the next turn takes it
            return None
        return entry.revision if entry.value == self.name else None

    async def _consume(
        self, destination: str, partition: int, on_batch: OnBatch, consumers: Consumers
    ) -> None:
        nats, backoff, every = _nats(), Backoff(), self.lease_seconds / 3
        lease = _Lease(f"{destination}.{partition}")
        subscription: Any = None
        ready_at = 0.0  # after a take-over, when what the last holder left is due again
        while not consumers.stopping:
            try:
                js = await self._connected()
                kv = await self._leases(js)
                taken = lease.revision is None
                if taken or time.monotonic() >= lease.renew_at:
                    lease.revision = await self._hold(kv, lease.key, lease.revision)
                    if lease.revision is None:
                        await _unsubscribed(subscription)
                        subscription = None
                        await asyncio.sleep(every)
                        continue
                    lease.renew_at = time.monotonic() + every
                if subscription is None:
                    subscription = await self._pull(js, destination, partition)
                if taken and (await subscription.consumer_info()).num_ack_pending:
                    # What a holder that died left is delivered again after ack_wait, before
                    # newer messages: wait for that (holding the lease), to keep the order.
                    ready_at = time.monotonic() + self.lease_seconds
                if time.monotonic() < ready_at:
                    await asyncio.sleep(every)
                    continue
                wait = max(lease.renew_at - time.monotonic(), 0.05)
                try:
                    messages = await subscription.fetch(self.batch_size, wait)
                except (TimeoutError, nats.errors.TimeoutError):
                    continue  # nothing new
                try:
                    async with renewed(self._renewal(kv, lease, messages), every):
                        await take_in(on_batch, _envelopes(messages), self.batch_size)
                except Exception:
                    for message in messages:
                        await message.nak()
                    raise
                for message in messages:
                    await message.ack()
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("consuming %s failed; its unacknowledged messages come again",
                               self.subject(destination, partition), exc_info=True)  # fmt: skip
                await _unsubscribed(subscription)
                subscription = None
                await backoff.wait()

    def _renewal(self, kv: KeyValue, lease: _Lease, messages: Sequence[Any]) -> Any:
        """Keep the lease, and the messages from being delivered again, during a slow batch."""

        async def renew() -> None:
            if lease.revision is not None:
                lease.revision = await self._hold(kv, lease.key, lease.revision)
            for message in messages:
                await message.in_progress()

        return renew

    async def _pull(self, js: JetStreamContext, destination: str, partition: int) -> Any:
        api = _nats().js.api
        await self._stream(js, destination)
        config = api.ConsumerConfig(
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self.lease_seconds,
            max_ack_pending=self.batch_size,
        )
        return await js.pull_subscribe(
            self.subject(destination, partition),
            durable=f"dolmen-{partition}",
            stream=self.stream(destination),
            config=config,
        )


class _Lease:
    """One partition's lease in the key-value bucket, as this consumer holds it."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.revision: int | None = None
        """The entry's revision after this consumer's last write; None: not held."""
        self.renew_at = 0.0


def _envelopes(messages: Sequence[Any]) -> list[Envelope]:
    envelopes = []
    for message in messages:
        try:
            envelopes += unpacked(message.data)
        except ValueError:
            logger.error("dropped a message that is no Dolmen envelope: %r", message.data[:200])
    return envelopes


async def _unsubscribed(subscription: Any) -> None:
    """Drop a pull subscription (its consumer stays on the server, durable)."""
    if subscription is not None:
        try:
            await subscription.unsubscribe()
        except Exception:
            logger.debug("unsubscribing failed", exc_info=True)


async def _log_error(error: Exception) -> None:
    logger.debug("NATS: %r", error)
