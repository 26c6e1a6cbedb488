"""The ``Module`` declaration: what a module is, needs and contributes."""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from dolmen.di import Provider
from dolmen.events import Event, Retry
from dolmen.modules.exceptions import CompositionError

if TYPE_CHECKING:
    from fastapi import APIRouter
    from pydantic_settings import BaseSettings

    from dolmen.persistence import ModuleTables

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True, slots=True)
class Subscription:
    """One event handler of one module: ``handler`` runs when ``event_type`` is published.

    ``retry`` says how its failures are retried; with ``ordered``, events with the same
    subject reach it one at a time, in publish order.
    """

    module: str
    event_type: type[Event]
    handler: Callable[..., Any]
    retry: Retry = field(default_factory=Retry)
    ordered: bool = False

    @property
    def name(self) -> str:
        """A stable name for the handler: ``<module>.<function name>``."""
        return f"{self.module}.{getattr(self.handler, '__name__', repr(self.handler))}"


@dataclass(frozen=True, slots=True)
class Handler:
    """An event handler declared as data, for ``Module(handlers=[...])``: see :func:`on`."""

    event_type: type[Event]
    function: Callable[..., Any]
    retry: Retry | None = None
    ordered: bool = False


def on(
    event_type: type[Event],
    function: Callable[..., Any],
    *,
    retry: Retry | None = None,
    ordered: bool = False,
) -> Handler:
    """``function`` handles ``event_type``: an item of ``Module(handlers=[...])``.

    The data form of ``@module.on(event_type, retry=..., ordered=...)``, for handlers
    kept in their own file (``handlers.py``) and listed in the module's declaration:
    ``Module("billing", handlers=[on(OrderPlaced, charge_order, retry=Retry(attempts=5))])``.
    A plain function in that list needs no ``on``: its event type is read from the
    annotation of its first parameter.
    """
    return Handler(event_type, function, retry, ordered)


class Module:
    """The declaration of one module of a modular monolith.

    A module is a Python package whose public contract lives in its ``api``
    submodule (``api.py`` or an ``api/`` package); everything else in the package
    is private. The declaration names the module, the modules whose public
    services it calls (``depends_on``), the modules whose events it reacts to
    (``listens_to``), and what it contributes to the application.

    Its event handlers are listed in ``handlers`` (functions whose first parameter is
    annotated with the event type, or :func:`on` items) or added with the
    :meth:`on` decorator; both forms may be mixed.

    Declaring a module has no side effect: nothing is registered anywhere until
    an :class:`~dolmen.App` is built from a list of modules.
    """

    def __init__(
        self,
        name: str,
        *,
        depends_on: Sequence[str] = (),
        listens_to: Sequence[str] = (),
        providers: Iterable[Provider[Any]] = (),
        routers: Iterable[APIRouter] = (),
        prefix: str | None = None,
        tables: ModuleTables | None = None,
        settings: type[BaseSettings] | None = None,
        errors: Mapping[type[BaseException], int] | None = None,
        on_startup: Iterable[Callable[..., Any]] = (),
        on_shutdown: Iterable[Callable[..., Any]] = (),
        handlers: Iterable[Handler | Callable[..., Any]] = (),
        package: str | None = None,
    ) -> None:
        if not name or set(name) - _NAME_CHARS or name[0].isdigit():
            raise CompositionError(
                f"module name {name!r} is not valid: use lower-case letters, digits and "
                "underscores, starting with a letter (it becomes a URL prefix, a table "
                "prefix and a database schema)"
            )
        self.name = name
        self.package = package if package is not None else _caller_package()
        self.depends_on: tuple[str, ...] = tuple(depends_on)
        self.listens_to: tuple[str, ...] = tuple(listens_to)
        self.providers: tuple[Provider[Any], ...] = tuple(providers)
        self.routers: tuple[APIRouter, ...] = tuple(routers)
        self.prefix = f"/{name}" if prefix is None else prefix
        self.tables = tables
        self.settings = settings
        self.errors: dict[type[BaseException], int] = dict(errors or {})
        self.on_startup: tuple[Callable[..., Any], ...] = tuple(on_startup)
        self.on_shutdown: tuple[Callable[..., Any], ...] = tuple(on_shutdown)
        self.subscriptions: list[Subscription] = []
        for item in handlers:
            if isinstance(item, Handler):
                _check_annotation(item)
                self._subscribe(item)
            else:
                self._subscribe(Handler(_event_type_of(item), item))

    def on(
        self, event_type: type[Event], *, retry: Retry | None = None, ordered: bool = False
    ) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated coroutine function as a handler of ``event_type``.

        The handler's first parameter receives the event; every other parameter is
        resolved by its type from this module's services (or is the
        :class:`~dolmen.events.DeliveryContext`), in a unit of work of its own. Each
        published event reaches each handler once its unit of work commits; failures are
        retried per ``retry`` (default :class:`~dolmen.events.Retry`). With ``ordered``,
        events with the same subject are handled one at a time, in publish order.
        """

        def register(handler: HandlerT) -> HandlerT:
            declared = Handler(event_type, handler, retry, ordered)
            _check_annotation(declared)
            self._subscribe(declared)
            return handler

        return register

    def _subscribe(self, declared: Handler) -> None:
        retry = declared.retry or Retry()
        subscription = Subscription(
            self.name, declared.event_type, declared.function, retry, declared.ordered
        )
        if any(s.name == subscription.name for s in self.subscriptions):
            raise CompositionError(
                f"handler {subscription.name} is declared twice in module {self.name!r}; a "
                "handler's name identifies its deliveries: list it once (in handlers= or "
                "with @module.on), and give different handlers different names"
            )
        self.subscriptions.append(subscription)

    def __repr__(self) -> str:
        return f"Module({self.name!r}, depends_on={list(self.depends_on)!r})"


def _event_type_of(function: Callable[..., Any]) -> type[Event]:
    """The event a handler takes: the annotation of its first parameter."""
    try:
        annotation = _first_annotation(function)
    except (NameError, TypeError, ValueError) as error:
        raise CompositionError(
            f"cannot read the annotations of handler {_name(function)}: {error}; import the "
            "types its parameters name where the handler is defined (not only under "
            "TYPE_CHECKING)"
        ) from error
    if not (isinstance(annotation, type) and issubclass(annotation, Event)):
        raise CompositionError(
            f"handler {_name(function)} is listed in handlers= without an event type: annotate "
            "its first parameter with the event it handles ('event: OrderPlaced'), or list it "
            "as on(EventType, handler)"
        )
    return annotation


def _check_annotation(declared: Handler) -> None:
    """A handler named for one event but annotated with another is a mistake: refuse it."""
    try:
        annotation = _first_annotation(declared.function)
    except (NameError, TypeError, ValueError):
        return  # not readable yet: the app reports it when it reads the parameters
    if (
        isinstance(annotation, type)
        and issubclass(annotation, Event)
        and not issubclass(declared.event_type, annotation)
    ):
        raise CompositionError(
            f"handler {_name(declared.function)} is declared for "
            f"{declared.event_type.event_name!r} but its first parameter is annotated "
            f"{annotation.__name__}; it would receive a {declared.event_type.__name__}: "
            "declare it for the event it is written for, or fix the annotation"
        )


def _first_annotation(function: Callable[..., Any]) -> Any:
    first = next(iter(inspect.signature(function).parameters), None)
    return typing.get_type_hints(function).get(first) if first else None


def _name(function: Callable[..., Any]) -> str:
    return str(getattr(function, "__qualname__", repr(function)))


def _caller_package() -> str:
    """The package of the file declaring the module: ``shop.orders.module`` -> ``shop.orders``."""
    caller = sys._getframe(2).f_globals.get("__name__", "")
    return str(caller).rpartition(".")[0] or str(caller)
