"""What a handler knows about the delivery it is running, and how the event is read back."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from dolmen.events._envelope import Envelope
from dolmen.events._event import Event
from dolmen.events._retry import NonRetryable
from dolmen.events.exceptions import UpcastError


@dataclass(frozen=True, slots=True)
class DeliveryContext:
    """The delivery a handler is running; ask for it by type in the handler's parameters.

    ``event_id`` is the same on every retry and replay of the event: use it as the
    idempotency key of effects outside the database (an e-mail, a payment gateway call).
    """

    event_id: str
    event_type: str
    handler: str
    attempt: int
    """This try's number, from 1."""
    max_attempts: int
    subject: str | None
    published_at: float
    source: str
    envelope: Envelope


class PoisonEvent(NonRetryable):
    """The stored event cannot be read as the handler's event class: it goes dead at once."""


def decode(envelope: Envelope, event_type: type[Event]) -> Event:
    """The stored event as an instance of ``event_type`` (its current version)."""
    if envelope.type != event_type.event_name:
        raise PoisonEvent(
            f"the delivery holds a {envelope.type!r} event, but its handler takes "
            f"{event_type.event_name!r}"
        )
    try:
        if envelope.version == event_type.event_version:
            return event_type.model_validate_json(envelope.data)  # the common case, parsed once
        data = json.loads(envelope.data)
        if not isinstance(data, dict):
            raise PoisonEvent(f"the stored {envelope.type} is not a JSON object")
        return event_type.model_validate(event_type.upcast(data, envelope.version))
    except UpcastError as error:
        raise PoisonEvent(str(error)) from error
    except (ValidationError, ValueError) as error:
        raise PoisonEvent(
            f"the stored {envelope.type} version {envelope.version} does not validate as "
            f"{event_type.__name__} version {event_type.event_version}: {error}"
        ) from error
