"""The transport ``[units] transport`` and ``broker_url`` name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dolmen.units._transports._port import Transport, TransportError

if TYPE_CHECKING:
    from dolmen.units._settings import UnitsSettings


def transport_for(settings: UnitsSettings) -> Transport | None:
    """The broker transport of these settings; None for ``database`` (no broker)."""
    if settings.transport == "database":
        return None
    if not settings.broker_url:
        raise TransportError(
            f"[units] transport = {settings.transport!r} needs broker_url (the broker's URL, "
            "amqp://..., nats://... or redis://...; DOLMEN__UNITS__BROKER_URL)"
        )
    url, partitions = settings.broker_url, settings.event_partitions
    if settings.transport == "rabbitmq":
        from dolmen.units._transports._rabbitmq import RabbitMQTransport

        return RabbitMQTransport(url, partitions=partitions)
    if settings.transport == "nats":
        from dolmen.units._transports._nats import NatsTransport

        return NatsTransport(url, partitions=partitions)
    from dolmen.units._transports._redis import RedisTransport

    return RedisTransport(url, partitions=partitions)
