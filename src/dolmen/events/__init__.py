"""Durable events between modules.

Declared in a module's api, published in a unit of work, written to the outbox in its
transaction and delivered to each handler with retries.
"""

from dolmen.events._admin import EventAdmin
from dolmen.events._delivery import DeliveryContext, PoisonEvent
from dolmen.events._dispatcher import Dispatcher
from dolmen.events._envelope import Envelope
from dolmen.events._event import Event
from dolmen.events._publisher import EventPublisher, ModulePublisher, PendingEvents
from dolmen.events._retry import NonRetryable, Retry
from dolmen.events._settings import EventSettings
from dolmen.events._store import DeadLetter, HandlerStats
from dolmen.events.exceptions import (
    EventDeclarationError,
    ForeignEventError,
    LockFileError,
    OutboxError,
    UpcastError,
)

__all__ = [
    "DeadLetter",
    "DeliveryContext",
    "Dispatcher",
    "Envelope",
    "Event",
    "EventAdmin",
    "EventDeclarationError",
    "EventPublisher",
    "EventSettings",
    "ForeignEventError",
    "HandlerStats",
    "LockFileError",
    "ModulePublisher",
    "NonRetryable",
    "OutboxError",
    "PendingEvents",
    "PoisonEvent",
    "Retry",
    "UpcastError",
]
