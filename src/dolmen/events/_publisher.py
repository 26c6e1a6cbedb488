"""Publishing events from inside a unit of work."""

from __future__ import annotations

from typing import Protocol

from dolmen.events._event import Event, subject_of
from dolmen.events._trace import current_traceparent
from dolmen.events.exceptions import ForeignEventError


class EventPublisher(Protocol):
    """Publishes events as part of the current unit of work.

    Ask for it by type in a service. Published events are written to the outbox in the
    unit of work's own transaction: a rollback publishes nothing, a commit guarantees
    delivery to every handler.
    """

    def publish(self, event: Event, *, subject: str | None = None) -> None:
        """Publish ``event`` with the current unit of work.

        ``subject`` (default: the field the event class names with ``subject=``) is
        the ordering key: ``ordered=True`` handlers get one subject's events in order.
        """
        ...


class PendingEvents:
    """The events published in one unit of work, with their subjects, waiting for its commit."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[tuple[Event, str | None, str | None]] = []
        """Each event, its subject and the trace context it was published in."""


class ModulePublisher:
    """The :class:`EventPublisher` one module gets in one unit of work."""

    __slots__ = ("_module", "_pending")

    def __init__(self, module: str, pending: PendingEvents) -> None:
        self._module = module
        self._pending = pending

    def publish(self, event: Event, *, subject: str | None = None) -> None:
        """Record ``event``; it is written to the outbox when the unit of work commits."""
        if not isinstance(event, Event):
            raise TypeError(f"publish() takes an Event, got {type(event).__name__}")
        owner = event.owner_module()
        if owner != self._module:
            raise ForeignEventError(
                f"module {self._module!r} published {event.event_name!r}, which module "
                f"{owner!r} owns; a module publishes only its own events (declare a new "
                f"event in the api of module {self._module!r})"
            )
        subject = subject if subject is not None else subject_of(event)
        traceparent = current_traceparent(event.event_name, self._module)
        self._pending.events.append((event, subject, traceparent))
