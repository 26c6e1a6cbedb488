"""Events across units over RabbitMQ (aio-pika): a queue per partition, single active consumer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, cast

from dolmen.events import Envelope
from dolmen.units._transports._backoff import Backoff
from dolmen.units._transports._consumers import Consumers
from dolmen.units._transports._port import (
    DEFAULT_PARTITIONS,
    OnBatch,
    TransportError,
    TransportSubscription,
    packed,
    unpacked,
)

if TYPE_CHECKING:
    from aio_pika.abc import AbstractChannel, AbstractConnection
    from aiormq import Channel as UnderlayChannel
    from aiormq.abc import DeliveredMessage

logger = logging.getLogger("dolmen.units")
QUEUE_ARGUMENTS: dict[str, Any] = {"x-single-active-consumer": True}
LINGER_TURNS = 20
"""Turns of the event loop a consumer waits for more messages before taking a batch in, at
most: it stops at :data:`QUIET_TURNS` turns in a row that brought none."""
QUIET_TURNS = 2
"""Turns without a new message after which a consumer takes its batch in: a message read
from the socket reaches the consumer's buffer within two turns."""
ARRIVAL_CHECK_SECONDS = 1.0
"""How often a consumer waiting for messages checks that its connection is still up."""


def _aio_pika() -> Any:
    try:
        import aio_pika
    except ImportError as missing:
        raise TransportError(
            "the rabbitmq transport needs aio-pika: pip install 'dolmen[rabbitmq]'"
        ) from missing
    return aio_pika


class RabbitMQTransport:
    """A :class:`Transport` over RabbitMQ: ``pip install 'dolmen[rabbitmq]'``.

    A destination is ``partitions`` durable classic queues, ``dolmen.<unit>.<n>``, each
    with *single active consumer*: however many processes consume it, the broker hands a
    queue's messages to one of them at a time, in order, and to the next one when it goes.
    Messages are persistent, each carrying the envelopes of one send for one partition, and
    each send waits for the broker's publisher confirms. A consumer takes the messages
    waiting (up to ``batch_size`` envelopes), hands their envelopes to ``on_batch`` at once,
    then acknowledges them at once; if ``on_batch`` raises, its channel is closed, which
    puts every unacknowledged message back at its place in the queue.
    """

    def __init__(
        self,
        url: str,
        *,
        partitions: int = DEFAULT_PARTITIONS,
        batch_size: int = 100,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.partitions = partitions
        self.batch_size = batch_size
        self.timeout = timeout
        self._connection: AbstractConnection | None = None
        self._publisher: AbstractChannel | None = None
        self._declared: set[str] = set()
        self._lock = asyncio.Lock()
        self._subscriptions: list[Consumers] = []

    @staticmethod
    def queue(destination: str, partition: int) -> str:
        """The name of one partition's queue."""
        return f"dolmen.{destination}.{partition}"

    async def open(self) -> None:
        """Connect (raises :class:`TransportError` when the broker cannot be reached)."""
        await self._connected()

    async def close(self) -> None:
        """Stop the subscriptions and disconnect (unacknowledged messages are requeued)."""
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.stop()
        connection, self._connection, self._publisher = self._connection, None, None
        self._declared.clear()
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def ping(self) -> None:
        """Raise :class:`TransportError` unless the broker is connected."""
        await self._connected()

    async def _connected(self) -> AbstractConnection:
        async with self._lock:
            if self._connection is None or not _alive(self._connection):
                if self._connection is not None:  # lost (aio-pika does not mark it closed)
                    await _quietly_close(self._connection)
                self._publisher = None
                self._declared.clear()
                try:
                    self._connection = await _aio_pika().connect(self.url, timeout=self.timeout)
                except (TimeoutError, OSError, Exception) as error:
                    raise TransportError(f"RabbitMQ at {_safe(self.url)}: {error}") from error
            return self._connection

    async def _declare(self, channel: AbstractChannel, destination: str) -> None:
        for partition in range(self.partitions):
            await channel.declare_queue(
                self.queue(destination, partition), durable=True, arguments=QUEUE_ARGUMENTS
            )

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        """Publish persistent messages, a few per partition, and wait for the broker's confirms.

        All of a send's messages are written at once, then their confirms awaited together
        (see :func:`_publish`).
        """
        try:
            connection = await self._connected()
            if self._publisher is None or self._publisher.is_closed:
                self._publisher = await connection.channel(publisher_confirms=True)
                self._declared.clear()
            channel = self._publisher
            if destination not in self._declared:  # else its messages come back (unroutable)
                await self._declare(channel, destination)
                self._declared.add(destination)
            underlay = await _underlay(channel)
            confirms = await asyncio.gather(
                *(
                    _publish(underlay, self.queue(destination, partition), body, self.timeout)
                    for partition, body, _ in packed(envelopes, self.partitions)
                )
            )
        except TransportError:
            raise
        except Exception as error:
            raise TransportError(f"sending to {destination!r} over RabbitMQ: {error}") from error
        if any(not _confirmed(confirm) for confirm in confirms):
            self._declared.discard(destination)  # its queues were deleted: declared again
            raise TransportError(
                f"RabbitMQ returned messages for {destination!r}: a queue of it is missing"
            )

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        """Consume every partition queue of ``destination`` (active on those no one else has)."""
        consumers = Consumers(f"rabbitmq:{destination}")
        for partition in range(self.partitions):
            queue = self.queue(destination, partition)
            consumers.run(self._consume(destination, queue, on_batch, consumers), str(partition))
        self._subscriptions.append(consumers)
        return consumers

    async def drop(self, destination: str) -> None:
        """Delete ``destination``'s queues and what they hold (tests, a unit retired)."""
        connection = await self._connected()
        channel = await connection.channel()
        try:
            for partition in range(self.partitions):
                await channel.queue_delete(self.queue(destination, partition))
        finally:
            await channel.close()

    # -- lag (dolmen.units._lag.MeasuresLag) -------------------------------------------

    async def lag(self, destination: str) -> dict[int, int]:
        """Messages ready in each partition queue of ``destination`` (a passive declare each).

        RabbitMQ counts the messages not yet delivered to a consumer; those delivered and
        not yet acknowledged (at most ``batch_size`` per queue) are not among them. A
        queue that does not exist yet holds nothing.
        """
        connection = await self._connected()
        channel = await connection.channel()
        found: dict[int, int] = {}
        try:
            for partition in range(self.partitions):
                name = self.queue(destination, partition)
                try:
                    queue = await channel.declare_queue(name, passive=True, timeout=self.timeout)
                except _aio_pika().exceptions.ChannelNotFoundEntity:
                    found[partition] = 0  # never declared; the channel is closed: a new one
                    channel = await connection.channel()
                    continue
                found[partition] = int(queue.declaration_result.message_count or 0)
        finally:
            if not channel.is_closed:
                await _quietly_close(channel)
        return found

    # -- consuming ---------------------------------------------------------------------

    async def _consume(
        self, destination: str, queue_name: str, on_batch: OnBatch, consumers: Consumers
    ) -> None:
        backoff = Backoff()
        while not consumers.stopping:
            channel: AbstractChannel | None = None
            try:
                connection = await self._connected()
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=self.batch_size)
                await self._declare(channel, destination)
                underlay = await _underlay(channel)
                buffer: asyncio.Queue[DeliveredMessage] = asyncio.Queue()
                arrived = asyncio.Event()
                consuming = await underlay.basic_consume(queue_name, _put(buffer, arrived))
                tag = consuming.consumer_tag
                while not consumers.stopping:
                    await _arrival(buffer, arrived, channel, connection, tag)
                    batch, envelopes = await _take(buffer, self.batch_size)
                    await on_batch(envelopes)
                    await _acknowledge(underlay, batch[-1])
                    backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("consuming %s failed; its unacknowledged messages come again",
                               queue_name, exc_info=True)  # fmt: skip
            finally:
                if channel is not None and not channel.is_closed:
                    await asyncio.shield(_quietly_close(channel))
            await backoff.wait()


async def _underlay(channel: AbstractChannel) -> UnderlayChannel:
    """The aiormq channel under an aio-pika one (aiormq's ``basic_publish`` takes ``wait``)."""
    return cast("UnderlayChannel", await channel.get_underlay_channel())


async def _publish(channel: UnderlayChannel, queue: str, body: bytes, seconds: float) -> object:
    """Publish one persistent message to ``queue``; its confirmation (``Basic.Ack``).

    Through the aiormq channel under aio-pika's, without waiting for the socket to drain
    (``wait=False``): aio-pika's ``publish`` holds the channel's lock until the writer
    task has sent the message, so the messages of one send left one per turn of the event
    loop (each turn running the process's other work), the last partition's several turns
    after the first. Queued at once, they go out in one write; the confirms are still
    awaited, and a send returns only once the broker has stored every message.
    """
    import aiormq

    properties = aiormq.spec.Basic.Properties(delivery_mode=2, content_type="application/json")
    return await channel.basic_publish(
        body,
        routing_key=queue,
        properties=properties,
        mandatory=True,
        timeout=seconds,
        wait=False,
    )


def _confirmed(confirmation: object) -> bool:
    """Whether a publish's confirmation says the broker routed and stored the message.

    A nack raises in aiormq; a message no queue took (``mandatory``) comes back as the
    returned message instead of a ``Basic.Ack``.
    """
    import aiormq

    return isinstance(confirmation, aiormq.spec.Basic.Ack)


def _put(
    buffer: asyncio.Queue[DeliveredMessage], arrived: asyncio.Event
) -> Callable[[DeliveredMessage], Coroutine[Any, Any, None]]:
    """The consumer callback: each delivered message into the consumer's buffer.

    Registered on the aiormq channel (``basic_consume``), not through aio-pika's
    ``Queue.consume``, which wraps each message in an ``IncomingMessage`` (copying its
    properties one attribute at a time) and runs the callback in a task of its own besides
    aiormq's: a third less CPU per message, and a turn of the event loop less before the
    consumer has it.
    """

    async def put(message: DeliveredMessage) -> None:
        buffer.put_nowait(message)
        arrived.set()

    return put


async def _acknowledge(channel: UnderlayChannel, last: DeliveredMessage) -> None:
    """Acknowledge ``last`` and the messages before it on ``channel`` (a batch taken in).

    Without waiting for the socket to drain: an acknowledgement lost with the connection
    leaves the batch to come again, which the intake's deduplication makes harmless, as
    when the process dies after its transaction and before acknowledging.
    """
    tag = last.delivery_tag
    if tag is None:  # (a delivered message always has one)
        raise TransportError("a RabbitMQ message without a delivery tag cannot be acknowledged")
    await channel.basic_ack(tag, multiple=True, wait=False)


def _alive(connection: AbstractConnection) -> bool:
    """Whether the connection is up: aio-pika leaves a lost one open, only not ``connected``."""
    if connection.is_closed:
        return False
    connected = getattr(connection, "connected", None)
    return not isinstance(connected, asyncio.Event) or connected.is_set()


async def _arrival(
    buffer: asyncio.Queue[DeliveredMessage],
    arrived: asyncio.Event,
    channel: AbstractChannel,
    connection: AbstractConnection,
    consumer_tag: str | None,
) -> None:
    """Wait for a message; raise when the channel or connection is lost meanwhile.

    A lost connection stops the deliveries without a word to the consumer, and so does a
    broker that cancelled the consumer (its queue was deleted): checked every second while
    none arrives, so the consumer reconnects once the broker is back, and declares its
    queue again.
    """
    while buffer.empty():
        arrived.clear()
        try:
            await asyncio.wait_for(arrived.wait(), ARRIVAL_CHECK_SECONDS)
        except TimeoutError:
            if channel.is_closed or not _alive(connection):
                raise TransportError("the connection to RabbitMQ was lost") from None
            if consumer_tag not in (await _underlay(channel)).consumers:
                raise TransportError("RabbitMQ cancelled the consumer (queue deleted?)") from None


async def _take(
    buffer: asyncio.Queue[DeliveredMessage], most: int
) -> tuple[list[DeliveredMessage], list[Envelope]]:
    """The messages waiting (at least one) and their envelopes (about ``most`` at most).

    Messages arrive one frame at a time: after the first, the loop gets a few turns to let
    those already on the socket join the batch, so that a burst is taken in by one
    transaction rather than one per message. It stops once :data:`QUIET_TURNS` turns in a
    row brought nothing (at most :data:`LINGER_TURNS` in all): each turn also runs the
    process's other work (a transaction, other partitions' batches), which an event taken
    in alone should not wait for twenty times.
    """
    batch = [await buffer.get()]
    envelopes = _envelopes(batch[0])
    quiet = 0
    for _ in range(LINGER_TURNS):
        if buffer.empty():
            quiet += 1
        else:
            quiet = 0
        while len(envelopes) < most and not buffer.empty():
            batch.append(buffer.get_nowait())
            envelopes += _envelopes(batch[-1])
        if len(envelopes) >= most or quiet > QUIET_TURNS:
            break
        await asyncio.sleep(0)
    return batch, envelopes


def _envelopes(message: DeliveredMessage) -> list[Envelope]:
    try:
        return unpacked(message.body)
    except ValueError:
        logger.error("dropped a message that is no Dolmen envelope: %r", message.body[:200])
        return []


async def _quietly_close(channel: AbstractChannel | AbstractConnection) -> None:
    try:
        await channel.close()
    except Exception:
        logger.debug("closing a channel failed", exc_info=True)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
