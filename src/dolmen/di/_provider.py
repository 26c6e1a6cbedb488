"""Providers: how to build a service, for how long it lives, and who may use it."""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from dolmen.di.exceptions import ProviderConfigurationError

if TYPE_CHECKING:
    from typing_extensions import TypeForm

T = TypeVar("T")

Factory = Callable[..., T | Awaitable[T] | AsyncIterator[T] | Iterator[T]]
"""What builds a ``T``: a class, a function, an async function or a (async) generator."""


class Lifetime(enum.Enum):
    """How long one instance of a service lives."""

    APP = "app"
    """One instance for the life of the application (a singleton)."""

    UNIT_OF_WORK = "unit_of_work"
    """One instance per unit of work: per HTTP request, command or event handled."""


class FactoryKind(enum.Enum):
    """How a factory is called and how its instance is released."""

    SYNC = "sync"
    ASYNC = "async"
    ASYNC_GENERATOR = "async_generator"
    GENERATOR = "generator"


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a factory: filled with the service of type ``key``."""

    name: str
    key: Any
    has_default: bool


@dataclass(frozen=True, slots=True)
class Provider(Generic[T]):
    """A recipe for the service registered under the type ``key``.

    Build one with :func:`provide` or :func:`provide_value`.
    """

    key: Any
    factory: Callable[..., Any]
    lifetime: Lifetime
    public: bool
    kind: FactoryKind
    parameters: tuple[Parameter, ...] = field(default=())

    @property
    def key_name(self) -> str:
        """The key's qualified name, for messages."""
        return _name(self.key)


@overload
def provide(
    key: type[T],
    factory: None = None,
    *,
    lifetime: Lifetime = Lifetime.UNIT_OF_WORK,
    public: bool = False,
) -> Provider[T]: ...


@overload
def provide(
    key: TypeForm[T],
    factory: Factory[T],
    *,
    lifetime: Lifetime = Lifetime.UNIT_OF_WORK,
    public: bool = False,
) -> Provider[T]: ...


def provide(
    key: Any,
    factory: Callable[..., Any] | None = None,
    *,
    lifetime: Lifetime = Lifetime.UNIT_OF_WORK,
    public: bool = False,
) -> Provider[Any]:
    """Declare that the service of type ``key`` is built by ``factory``.

    ``factory`` defaults to ``key`` itself (a class). It may be a class, a
    function, a coroutine function, or a (async) generator function whose code
    after ``yield`` releases the instance when its lifetime ends. Its
    parameters are filled by their type annotations from the module's services.
    To mypy, a factory that does not produce a ``key`` is an error, and so is a
    Protocol or abstract key without a factory.

    ``public=True`` exports the service to the modules that depend on this one;
    its key should then be a type from the module's ``api``.
    """
    if factory is None:
        if not isinstance(key, type):
            raise ProviderConfigurationError(
                f"provide({_name(key)}) needs a factory: the key is not a class Dolmen can call"
            )
        factory = key
    return Provider(
        key=key,
        factory=factory,
        lifetime=lifetime,
        public=public,
        kind=_kind(factory),
        parameters=parameters_of(factory),
    )


def provide_value(key: TypeForm[T], value: T, *, public: bool = False) -> Provider[T]:
    """Declare an already-built instance as the application-wide service of type ``key``."""
    return Provider(
        key=key,
        factory=lambda: value,
        lifetime=Lifetime.APP,
        public=public,
        kind=FactoryKind.SYNC,
    )


def _kind(factory: Callable[..., Any]) -> FactoryKind:
    target: Any = factory
    if _is_callable_instance(factory):
        target = type(factory).__call__
    if inspect.isasyncgenfunction(target):
        return FactoryKind.ASYNC_GENERATOR
    if inspect.isgeneratorfunction(target):
        return FactoryKind.GENERATOR
    if inspect.iscoroutinefunction(target):
        return FactoryKind.ASYNC
    return FactoryKind.SYNC


def _is_callable_instance(factory: object) -> bool:
    plain = inspect.isfunction(factory) or inspect.ismethod(factory)
    return not (plain or isinstance(factory, type))


def parameters_of(factory: Callable[..., Any]) -> tuple[Parameter, ...]:
    """Read the factory's parameters and their annotated types."""
    target: Any = factory
    if isinstance(factory, type):
        target = factory.__init__  # type: ignore[misc]  # the class's own constructor
    try:
        hints = typing.get_type_hints(target)
        signature = inspect.signature(factory)
    except (NameError, TypeError, ValueError) as error:
        raise ProviderConfigurationError(
            f"cannot read the parameters of {_name(factory)}: {error}; annotate every "
            "parameter with a type importable at run time"
        ) from error
    parameters = []
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        has_default = parameter.default is not parameter.empty
        if name not in hints:
            if has_default:
                continue
            raise ProviderConfigurationError(
                f"parameter {name!r} of {_name(factory)} has no type annotation; Dolmen "
                "fills parameters by type, so annotate it (or give it a default)"
            )
        parameters.append(Parameter(name, hints[name], has_default))
    return tuple(parameters)


def _name(obj: Any) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or repr(obj)
    return f"{module}.{qualname}" if module and module != "builtins" else str(qualname)
