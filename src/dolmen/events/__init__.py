"""Events between modules: declared in a module's api, published inside a unit of work."""

from dolmen.events._bus import InProcessEventBus
from dolmen.events._event import Event
from dolmen.events._publisher import EventPublisher, ModulePublisher, PendingEvents
from dolmen.events.exceptions import EventDeclarationError, ForeignEventError

__all__ = [
    "Event",
    "EventDeclarationError",
    "EventPublisher",
    "ForeignEventError",
    "InProcessEventBus",
    "ModulePublisher",
    "PendingEvents",
]
