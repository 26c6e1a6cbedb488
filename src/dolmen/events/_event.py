"""The base class of events: typed, named, versioned, immutable."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dolmen.events.exceptions import EventDeclarationError


class Event(BaseModel):
    """An event: a fact a module publishes, in the past tense (``OrderPlaced``).

    Declare events in the publishing module's ``api``. Each has a stable name
    ``"<module>.<EventName>"`` and an integer version::

        class OrderPlaced(Event, name="orders.OrderPlaced", version=1):
            order_id: str

    Without ``name=`` the name is derived from where the class is declared: a
    class ``OrderPlaced`` in ``shop.orders.api`` is ``orders.OrderPlaced``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_name: ClassVar[str]
    event_version: ClassVar[int]

    def __init_subclass__(cls, *, name: str | None = None, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
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
