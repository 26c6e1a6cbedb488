"""The container: module-aware, type-keyed dependency injection.

Each service belongs to the module that provides it. A module resolves its own
services and the *public* services of the modules it depends on; anything
else is refused with an error that says what to declare. Resolving a service
of another module passes through the declared interceptors (see ``_seam``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from dolmen.di._provider import FactoryKind, Lifetime, Provider, _name
from dolmen.di._scope import ServiceScope
from dolmen.di._seam import CrossModuleResolution, Interceptor, Seam
from dolmen.di.exceptions import (
    MissingProviderError,
    NotVisibleError,
    ProviderConfigurationError,
    ResolutionError,
)

if TYPE_CHECKING:
    from typing_extensions import TypeForm

T = TypeVar("T")

ContextualFactory = Callable[[ServiceScope, str], Awaitable[Any]]
"""Builds a per-module, per-unit-of-work value (a module's database session, say)."""


class Container:
    """Holds every module's providers and the application-wide instances.

    ``visibility`` maps each module to the modules whose public services it may
    use (its ``depends_on``); ``interceptors`` are the seam's (see :class:`Interceptor`).
    """

    def __init__(
        self,
        visibility: Mapping[str, frozenset[str]],
        interceptors: Iterable[Interceptor] = (),
    ) -> None:
        self._visibility = dict(visibility)
        self._seam = Seam(interceptors)
        self._providers: dict[Any, tuple[str, Provider[Any]]] = {}
        self._contextual: dict[Any, ContextualFactory] = {}
        self._overrides: dict[Any, Any] = {}
        self._singletons: dict[Any, Any] = {}
        self._singleton_locks: dict[Any, asyncio.Lock] = {}
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self._resolutions: dict[tuple[str, Any], CrossModuleResolution] = {}
        self._plans: dict[tuple[str, Any], _Plan] = {}
        """Per (asking module, key): its provider, and its crossing if it crosses modules;
        found once (the first time it is allowed), forgotten when registrations change."""
        self._fills: dict[Any, tuple[Provider[Any], tuple[tuple[str, Any], ...]]] = {}
        """Per key: its provider, and the (name, key) of each parameter its factory is given."""

    # -- registration ---------------------------------------------------------------

    def register(self, module: str, provider: Provider[Any]) -> None:
        """Register ``provider`` as a service of ``module``."""
        if module not in self._visibility:
            raise ProviderConfigurationError(f"unknown module {module!r}")
        if provider.key in self._providers or provider.key in self._contextual:
            other = self._providers.get(provider.key, ("dolmen", None))[0]
            raise ProviderConfigurationError(
                f"{provider.key_name} is provided twice (by module {other!r} and by module "
                f"{module!r}); keep one provider, or give each module its own type"
            )
        self._providers[provider.key] = (module, provider)
        self._forget_plans()

    def register_contextual(self, key: Any, factory: ContextualFactory) -> None:
        """Make ``key`` resolvable in every module, built per unit of work by ``factory``."""
        self._contextual[key] = factory
        self._forget_plans()

    def _forget_plans(self) -> None:
        self._plans.clear()
        self._fills.clear()

    @property
    def interceptors(self) -> tuple[Interceptor, ...]:
        """The declared interceptors, outermost first."""
        return self._seam.interceptors

    def declare_interceptors(self, interceptors: Iterable[Interceptor]) -> None:
        """Add ``interceptors`` to those declared (for extensions, before the app starts).

        Their place in the chain follows their role, not the order of the calls; a name
        declared already is refused with a ``ProviderConfigurationError``.
        """
        self._seam = Seam([*self._seam.interceptors, *interceptors])
        self._forget_plans()

    @contextlib.contextmanager
    def override(self, key: Any, instance: object) -> Iterator[None]:
        """Serve ``instance`` for ``key`` inside the ``with`` block (for tests).

        Visibility rules still apply: an override replaces what is served, not
        who may ask for it.
        """
        previous = self._overrides.get(key, _MISSING)
        self._overrides[key] = instance
        try:
            yield
        finally:
            if previous is _MISSING:
                del self._overrides[key]
            else:
                self._overrides[key] = previous

    def owner_of(self, key: Any) -> str | None:
        """The module that provides ``key``, or None."""
        entry = self._providers.get(key)
        return entry[0] if entry else None

    # -- validation -----------------------------------------------------------------

    def validate(self) -> None:
        """Check at start-up that every provider's parameters can be filled."""
        for module, provider in self._providers.values():
            for parameter in provider.parameters:
                self._validate_parameter(module, provider, parameter.key, parameter.has_default)
        for key in self._providers:
            self._check_acyclic(key, [])

    def validate_request(self, module: str, key: Any) -> None:
        """Check that ``module`` may resolve ``key`` (used for routes and handlers)."""
        if key in self._contextual:
            return
        self._visible_provider(module, key)

    def _validate_parameter(
        self, module: str, provider: Provider[Any], key: Any, has_default: bool
    ) -> None:
        where = f"parameter of {_name(provider.factory)} (module {module!r})"
        if key in self._contextual:
            if provider.lifetime is Lifetime.APP:
                raise ProviderConfigurationError(
                    f"{where} asks for {_name(key)}, which exists per unit of work, but "
                    f"{provider.key_name} lives for the whole app; make it "
                    "lifetime=Lifetime.UNIT_OF_WORK"
                )
            return
        if key not in self._providers and has_default:
            return
        try:
            _, dependency = self._visible_provider(module, key)
        except ResolutionError as error:
            raise ProviderConfigurationError(f"{where}: {error}") from None
        if provider.lifetime is Lifetime.APP and dependency.lifetime is Lifetime.UNIT_OF_WORK:
            raise ProviderConfigurationError(
                f"{where} asks for {dependency.key_name}, which exists per unit of work, but "
                f"{provider.key_name} lives for the whole app and would keep a stale one; "
                "make it lifetime=Lifetime.UNIT_OF_WORK"
            )

    def _check_acyclic(self, key: Any, path: list[Any]) -> None:
        if key in path:
            cycle = " -> ".join(_name(k) for k in [*path[path.index(key) :], key])
            raise ProviderConfigurationError(f"services depend on each other in a cycle: {cycle}")
        entry = self._providers.get(key)
        if entry is None:
            return
        for parameter in entry[1].parameters:
            self._check_acyclic(parameter.key, [*path, key])

    # -- resolution -----------------------------------------------------------------

    def scope(self) -> ServiceScope:
        """Open a unit-of-work scope; close it with ``await scope.aclose()``."""
        return ServiceScope(self)

    async def resolve(self, key: TypeForm[T], module: str, scope: ServiceScope | None) -> T:
        """Return the service ``key`` as seen from ``module``.

        A service of another module comes through the interceptors, which decide whether
        the local one is built at all.
        """
        factory = self._contextual.get(key)
        if factory is not None:
            if scope is None:
                raise ResolutionError(
                    f"{_name(key)} exists only inside a unit of work, and there is none here"
                )
            return cast(T, await factory(scope, module))
        plan = self._plans.get((module, key))
        if plan is None:
            plan = self._plan(module, key)
        owner, provider, resolution = plan
        if resolution is None:
            return cast(T, await self._instance(owner, provider, scope))
        return cast(
            T, await self._seam.resolve(resolution, lambda: self._instance(owner, provider, scope))
        )

    def _plan(self, module: str, key: Any) -> _Plan:
        """How ``module`` gets ``key`` (raising as :meth:`_visible_provider` does), kept."""
        owner, provider = self._visible_provider(module, key)
        resolution = None
        if owner != module and self._seam.active:
            resolution = self._resolutions.get((module, key))
            if resolution is None:  # immutable: one per (caller, key), made once
                resolution = CrossModuleResolution(module, owner, key)
                self._resolutions[module, key] = resolution
        plan = self._plans[module, key] = (owner, provider, resolution)
        return plan

    def _visible_provider(self, module: str, key: Any) -> tuple[str, Provider[Any]]:
        entry = self._providers.get(key)
        if entry is None:
            raise MissingProviderError(
                f"module {module!r} asked for {_name(key)}, but no module provides it; "
                f"declare provide({getattr(key, '__name__', key)}, ...) in the providers of "
                "the module that owns it"
            )
        owner, provider = entry
        if owner == module:
            return entry
        if not provider.public:
            raise NotVisibleError(
                f"module {module!r} asked for {_name(key)}, which is private to module "
                f"{owner!r}; use a public service from the api of {owner!r} instead (or, if it "
                f"is meant to be shared, declare it with public=True in module {owner!r})"
            )
        if owner not in self._visibility.get(module, frozenset()):
            raise NotVisibleError(
                f"module {module!r} asked for {_name(key)} from module {owner!r}, but "
                f"{module!r} does not depend on {owner!r}; add {owner!r} to depends_on of "
                f"module {module!r}"
            )
        return entry

    async def _instance(
        self, owner: str, provider: Provider[Any], scope: ServiceScope | None
    ) -> Any:
        if provider.key in self._overrides:
            return self._overrides[provider.key]
        if provider.lifetime is Lifetime.APP:
            return await self._singleton(owner, provider)
        if scope is None:
            raise ResolutionError(
                f"{provider.key_name} exists per unit of work; resolve it inside one "
                "(an HTTP request, an event handler, or app.unit_of_work())"
            )
        if provider.key in scope.instances:
            return scope.instances[provider.key]
        instance = await self._build(owner, provider, scope, scope.cleanups)
        scope.instances[provider.key] = instance
        return instance

    async def _singleton(self, owner: str, provider: Provider[Any]) -> Any:
        key = provider.key
        if key in self._singletons:
            return self._singletons[key]
        lock = self._singleton_locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._singletons:
                self._singletons[key] = await self._build(owner, provider, None, self._cleanups)
        return self._singletons[key]

    async def _build(
        self,
        owner: str,
        provider: Provider[Any],
        scope: ServiceScope | None,
        cleanups: list[Callable[[], Awaitable[None]]],
    ) -> Any:
        fill = self._fills.get(provider.key)
        if fill is None or fill[0] is not provider:
            fill = self._fills[provider.key] = (provider, self._filled(provider))
        kwargs = {}
        for name, key in fill[1]:
            kwargs[name] = await self.resolve(key, owner, scope)
        result = provider.factory(**kwargs)
        if provider.kind is FactoryKind.ASYNC:
            return await result
        if provider.kind is FactoryKind.ASYNC_GENERATOR:
            instance = await result.__anext__()
            cleanups.append(lambda: _finish_async(result))
            return instance
        if provider.kind is FactoryKind.GENERATOR:
            instance = next(result)
            cleanups.append(lambda: _finish_sync(result))
            return instance
        return result

    def _filled(self, provider: Provider[Any]) -> tuple[tuple[str, Any], ...]:
        """The parameters of ``provider`` given a service (not one with a default unprovided)."""
        return tuple(
            (parameter.name, parameter.key)
            for parameter in provider.parameters
            if not (parameter.has_default and parameter.key not in self._providers)
        )

    async def aclose(self) -> None:
        """Release application-wide instances, last built first."""
        cleanups, self._cleanups = self._cleanups, []
        self._singletons.clear()
        await _run_cleanups(cleanups)


_MISSING = object()

_Plan = tuple[str, Provider[Any], CrossModuleResolution | None]
"""(owner, provider, the crossing to pass through the seam, or None)."""


async def _finish_async(generator: Any) -> None:
    with contextlib.suppress(StopAsyncIteration):
        await generator.__anext__()


async def _finish_sync(generator: Any) -> None:
    with contextlib.suppress(StopIteration):
        next(generator)


async def _run_cleanups(cleanups: list[Callable[[], Awaitable[None]]]) -> None:
    errors: list[BaseException] = []
    for cleanup in reversed(cleanups):
        try:
            await cleanup()
        except Exception as error:
            errors.append(error)
    if errors:
        raise ExceptionGroup("releasing services failed", cast(list[Exception], errors))
