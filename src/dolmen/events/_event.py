"""The base class of events: typed, named, versioned, immutable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

from dolmen.events.exceptions import EventDeclarationError, UpcastError

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
U = TypeVar("U", bound=Upcaster)


class Event(BaseModel):
    """An event: a fact a module publishes, in the past tense (``OrderPlaced``).

    Declare events in the publishing module's ``api``. Each has a stable name
    ``"<module>.<EventName>"`` and an integer version::

        class OrderPlaced(Event, name="orders.OrderPlaced", version=1):
            order_id: str

    Without ``name=`` the name is derived from where the class is declared: a
    class ``OrderPlaced`` in ``shop.orders.api`` is ``orders.OrderPlaced``.

    ``subject="order_id"`` names the field whose value becomes the envelope's
    ``subject``: handlers declared ``ordered=True`` receive the events of one subject in
    publish order. A new ``version`` registers upcasters from the older ones
    (:meth:`upcaster`), so handlers always receive the current version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str]
    event_version: ClassVar[int]
    event_subject: ClassVar[str | None]
    event_upcasters: ClassVar[dict[int, Upcaster]]

    def __init_subclass__(
        cls,
        *,
        name: str | None = None,
        version: int = 1,
        subject: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.event_subject = subject
        cls.event_upcasters = {}
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise EventDeclarationError(
                f"event {cls.__qualname__}: version must be an integer >= 1, got {version!r}"
            )
        cls.event_name = name if name is not None else _derived_name(cls)
        cls.event_version = version
        if "." not in cls.event_name:
            raise EventDeclarationError(
                f"event {cls.__qualname__}: name {cls.event_name!r} must read "
                "'<module>.<EventName>', e.g. 'orders.OrderPlaced'"
            )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.event_subject is not None and cls.event_subject not in cls.model_fields:
            raise EventDeclarationError(
                f"event {cls.__qualname__}: subject={cls.event_subject!r} names no field "
                f"(fields: {', '.join(cls.model_fields) or 'none'})"
            )

    @classmethod
    def upcaster(cls, *, from_version: int) -> Callable[[U], U]:
        """Register a function turning this event's data at ``from_version`` into the next.

        ``@OrderPlaced.upcaster(from_version=1)`` on ``def v1(data: dict) -> dict`` makes
        stored version-1 events readable as version 2; chains run one step at a time.
        """
        if not 1 <= from_version < cls.event_version:
            raise EventDeclarationError(
                f"event {cls.event_name} is at version {cls.event_version}: an upcaster "
                f"goes from a version in 1..{cls.event_version - 1}, not {from_version}"
            )

        def register(function: U) -> U:
            if from_version in cls.event_upcasters:
                raise EventDeclarationError(
                    f"event {cls.event_name} has two upcasters from version {from_version}"
                )
            cls.event_upcasters[from_version] = function
            return function

        return register

    @classmethod
    def upcast(cls, data: dict[str, Any], version: int) -> dict[str, Any]:
        """``data`` stored at ``version``, brought to the current version; raises UpcastError."""
        if version > cls.event_version:
            raise UpcastError(
                f"{cls.event_name} version {version} is newer than this code's "
                f"({cls.event_version}); deploy the code that knows it"
            )
        while version < cls.event_version:
            step = cls.event_upcasters.get(version)
            if step is None:
                raise UpcastError(
                    f"{cls.event_name} version {version} has no upcaster to version "
                    f"{version + 1}; register one with @{cls.__name__}.upcaster("
                    f"from_version={version})"
                )
            data = step(data)
            version += 1
        return data

    @classmethod
    def owner_module(cls) -> str:
        """The name of the module that owns (publishes) this event."""
        return cls.event_name.partition(".")[0]


def _derived_name(cls: type[Event]) -> str:
    parts = cls.__module__.split(".")
    if "api" in parts[1:]:
        module = parts[parts.index("api", 1) - 1]
        return f"{module}.{cls.__name__}"
    raise EventDeclarationError(
        f"event {cls.__qualname__} is declared outside a module's api ({cls.__module__}); "
        f"give it an explicit name: class {cls.__name__}(Event, name='<module>.{cls.__name__}')"
    )


def subject_of(event: Event) -> str | None:
    """The value of the field the event's class names with ``subject=``, as text."""
    field = type(event).event_subject
    if field is None:
        return None
    value = getattr(event, field)
    return None if value is None else str(value)
