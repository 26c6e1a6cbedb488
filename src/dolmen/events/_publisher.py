"""Publishing events from inside a unit of work."""

from __future__ import annotations

from typing import Protocol

from dolmen.events._event import Event
from dolmen.events.exceptions import ForeignEventError


class EventPublisher(Protocol):
    """Publishes events as part of the current unit of work.

    Ask for it by type in a service. Published events are delivered only if
    the unit of work commits: a rollback publishes nothing.
    """

    def publish(self, event: Event) -> None:
        """Publish ``event`` when the current unit of work commits."""
        ...


class PendingEvents:
    """The events published in one unit of work, waiting for its commit."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []


class ModulePublisher:
    """The :class:`EventPublisher` one module gets in one unit of work."""

    __slots__ = ("_module", "_pending")

    def __init__(self, module: str, pending: PendingEvents) -> None:
        self._module = module
        self._pending = pending

    def publish(self, event: Event) -> None:
        """Record ``event``; it is dispatched after the unit of work commits."""
        if not isinstance(event, Event):
            raise TypeError(f"publish() takes an Event, got {type(event).__name__}")
        owner = event.owner_module()
        if owner != self._module:
            raise ForeignEventError(
                f"module {self._module!r} published {event.event_name!r}, which module "
                f"{owner!r} owns; a module publishes only its own events (declare a new "
                f"event in the api of module {self._module!r})"
            )
        self._pending.events.append(event)
