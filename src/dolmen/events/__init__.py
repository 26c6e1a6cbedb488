"""Durable events between modules.

Declared in a module's api, published in a unit of work, written to the outbox in its
transaction and delivered to each handler with retries. The runtime runs on ports
(:class:`Outbox`, :class:`DeliveryQueue`, :class:`Inbox`, :class:`Wakeup`) with
implementations in the app's database and in memory (:class:`EventBackend`).
"""

from dolmen.events._admin import EventAdmin
from dolmen.events._backend import EventBackend
from dolmen.events._batches import MOST_IN_A_BATCH, SLOW_DELIVERY_SECONDS, BatchRunner, Outcome
from dolmen.events._clock import Clock, SystemClock
from dolmen.events._delivery import DeliveryContext, PoisonEvent
from dolmen.events._dispatcher import Dispatcher, Runner
from dolmen.events._envelope import Envelope
from dolmen.events._event import Event
from dolmen.events._memory_store import InMemoryDeliveryStore
from dolmen.events._outbox_table import tables as OUTBOX_TABLES
from dolmen.events._ports import DeliveryQueue, DeliveryStore, Inbox, Outbox, Wakeup
from dolmen.events._publisher import EventPublisher, ModulePublisher, PendingEvents
from dolmen.events._records import Claimed, DeadLetter, HandlerStats, NewDelivery, Selection
from dolmen.events._retry import NonRetryable, Retry
from dolmen.events._settings import EventSettings
from dolmen.events._sql_store import SqlDeliveryStore
from dolmen.events.exceptions import (
    EventDeclarationError,
    ForeignEventError,
    LeaseLost,
    LockFileError,
    OutboxError,
    UpcastError,
)

__all__ = [
    "MOST_IN_A_BATCH",
    "OUTBOX_TABLES",
    "SLOW_DELIVERY_SECONDS",
    "BatchRunner",
    "Claimed",
    "Clock",
    "DeadLetter",
    "DeliveryContext",
    "DeliveryQueue",
    "DeliveryStore",
    "Dispatcher",
    "Envelope",
    "Event",
    "EventAdmin",
    "EventBackend",
    "EventDeclarationError",
    "EventPublisher",
    "EventSettings",
    "ForeignEventError",
    "HandlerStats",
    "InMemoryDeliveryStore",
    "Inbox",
    "LeaseLost",
    "LockFileError",
    "ModulePublisher",
    "NewDelivery",
    "NonRetryable",
    "Outbox",
    "OutboxError",
    "Outcome",
    "PendingEvents",
    "PoisonEvent",
    "Retry",
    "Runner",
    "Selection",
    "SqlDeliveryStore",
    "SystemClock",
    "UpcastError",
    "Wakeup",
]
