"""The seam every cross-module resolution and call passes through.

When a module resolves a public service of another module, the container asks
the declared interceptors for the instance instead of building it itself. Each
interceptor's ``resolve`` hook receives a ``build`` function and decides: await
it (pass through, or wrap what it returns), or return something else without
calling it (a client for a module deployed elsewhere), in which case nothing of
the other module is built in this process. Interceptors' ``call`` functions run
around each coroutine method call of the service, through one
:class:`ServiceProxy`; with none declared, the caller gets the service itself.
"""

from __future__ import annotations

import enum
import inspect
import types
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from dolmen.di.exceptions import ProviderConfigurationError


@dataclass(frozen=True, slots=True)
class CrossModuleResolution:
    """Module ``caller`` asks for the service ``key`` that module ``target`` provides."""

    caller: str
    target: str
    key: Any


Build = Callable[[], Awaitable[Any]]
"""Builds (or fetches, per its lifetime) the local instance of the service when awaited."""

CrossModuleHook = Callable[[CrossModuleResolution, Build], Awaitable[Any]]
"""``async def hook(resolution, build)``: returns the instance the caller gets.

``await build()`` makes the local instance; a hook that returns something else
without calling it leaves the other module's service (and its repository,
session and connection) unbuilt.
"""


@dataclass(slots=True)
class ModuleCall:
    """One call of a coroutine method across a module boundary (read it, do not change it)."""

    caller: str
    target: str
    key: Any
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


CallInterceptor = Callable[[ModuleCall, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""An ``async def interceptor(call, proceed)`` that awaits ``proceed()`` for the real call."""


class InterceptorRole(enum.IntEnum):
    """Where an interceptor sits in the chain; the roles are listed innermost first."""

    PLACEMENT = 10
    """Decides where the service lives: builds it here, or hands out a remote client."""

    POLICY = 20
    """Rules about the placed service: authorization, timeouts, retries."""

    OBSERVABILITY = 30
    """Tracing, metrics, logs: outermost, so it sees (and times) everything inside."""


@dataclass(frozen=True, slots=True)
class Interceptor:
    """One declared interceptor of the cross-module seam.

    ``resolve`` is an ``async def hook(resolution, build)`` run when a module obtains
    another module's service; ``call`` is an ``async def interceptor(call, proceed)`` run
    around each coroutine method call on it. Give one or both. ``role`` places it in the
    chain: placement innermost, then policy, then observability outermost; within one
    role, the first declared is the outermost. ``name`` identifies it: declaring two
    interceptors with one name is an error. ``active`` switches its ``call`` on and off
    while the app runs.
    """

    name: str
    resolve: CrossModuleHook | None = None
    call: CallInterceptor | None = None
    role: InterceptorRole = InterceptorRole.OBSERVABILITY
    active: Callable[[], bool] | None = None
    """Asked at each resolution whether ``call`` runs on the calls of the service resolved
    (None: always). An interceptor that is off (metrics and traces switched off, say) then
    costs nothing: with no ``call`` active, the caller gets the service itself, no proxy."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ProviderConfigurationError("an interceptor needs a name (it identifies it)")
        if self.resolve is None and self.call is None:
            raise ProviderConfigurationError(
                f"interceptor {self.name!r} has neither resolve= nor call=; give it one"
            )


class Seam:
    """The declared interceptors in chain order, and the proxy classes they need."""

    __slots__ = ("_calls", "_gated", "_hooks", "_proxies", "active", "interceptors")

    def __init__(self, interceptors: Iterable[Interceptor] = ()) -> None:
        declared = tuple(interceptors)
        _refuse_duplicates(declared)
        # Outermost first: the highest role first, then the order of declaration.
        self.interceptors = tuple(sorted(declared, key=lambda i: -i.role))
        self._hooks = tuple(i.resolve for i in reversed(self.interceptors) if i.resolve)
        self._calls = tuple(i.call for i in self.interceptors if i.call)
        self._gated = tuple(i for i in self.interceptors if i.call and i.active)
        self._proxies: dict[tuple[type[Any], tuple[CallInterceptor, ...]], type[ServiceProxy]] = {}
        self.active = bool(self.interceptors)

    async def resolve(self, resolution: CrossModuleResolution, build: Build) -> Any:
        """The instance ``resolution.caller`` gets, innermost hook first around ``build``."""
        for hook in self._hooks:
            build = _Step(hook, resolution, build)
        instance = await build()
        calls = self._live_calls() if self._gated else self._calls
        if not calls:
            return instance
        proxy_class = self._proxies.get((type(instance), calls))
        if proxy_class is None:
            proxy_class = _proxy_class(type(instance), calls)
            self._proxies[type(instance), calls] = proxy_class
        return proxy_class(instance, resolution)

    def _live_calls(self) -> tuple[CallInterceptor, ...]:
        """The ``call`` functions of the interceptors active now, in chain order."""
        return tuple(
            i.call
            for i in self.interceptors
            if i.call is not None and (i.active is None or i.active())
        )


class _Step:
    """``build`` for the next hook out: runs ``hook`` around the previous ``build``."""

    __slots__ = ("build", "hook", "resolution")

    def __init__(
        self, hook: CrossModuleHook, resolution: CrossModuleResolution, build: Build
    ) -> None:
        self.hook, self.resolution, self.build = hook, resolution, build

    def __call__(self) -> Awaitable[Any]:
        return self.hook(self.resolution, self.build)


def _refuse_duplicates(interceptors: tuple[Interceptor, ...]) -> None:
    names: set[str] = set()
    functions: dict[int, str] = {}
    for interceptor in interceptors:
        if interceptor.name in names:
            raise ProviderConfigurationError(
                f"interceptor {interceptor.name!r} is declared twice; declare it once (on the "
                "App or by one extension)"
            )
        names.add(interceptor.name)
        for function in (interceptor.resolve, interceptor.call):
            if function is None:
                continue
            other = functions.setdefault(id(function), interceptor.name)
            if other != interceptor.name:
                raise ProviderConfigurationError(
                    f"interceptors {other!r} and {interceptor.name!r} run the same function "
                    f"{getattr(function, '__qualname__', function)!r}; it would run twice per "
                    "call: declare it once"
                )


class ServiceProxy:
    """Stands in for a service of another module and routes its calls through interceptors.

    Only coroutine methods of the service's class are intercepted (a module's public API
    is asynchronous); other attributes are the service's own. Each intercepted method is
    made once per (service type, method name) and kept on the proxy class.
    """

    __slots__ = ("_dolmen_resolution", "_dolmen_target")
    _chain: ClassVar[tuple[CallInterceptor, ...]] = ()

    def __init__(self, target: Any, resolution: CrossModuleResolution) -> None:
        self._dolmen_target = target
        self._dolmen_resolution = resolution

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the proxy class does not have yet.
        target = self._dolmen_target
        attribute = getattr(target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        method = _intercepted(name, type(self)._chain)
        if inspect.iscoroutinefunction(inspect.getattr_static(type(target), name, None)):
            setattr(type(self), name, method)  # the class's own method: same for every instance
        return types.MethodType(method, self)

    def __repr__(self) -> str:
        caller = self._dolmen_resolution.caller
        return f"<proxy for {self._dolmen_target!r} seen from module {caller!r}>"


def _proxy_class(service: type[Any], chain: tuple[CallInterceptor, ...]) -> type[ServiceProxy]:
    name = f"ServiceProxy[{service.__qualname__}]"
    return type(name, (ServiceProxy,), {"__slots__": (), "_chain": chain})


def _intercepted(name: str, chain: tuple[CallInterceptor, ...]) -> Callable[..., Any]:
    # A plain function that returns the outermost interceptor's coroutine: awaiting it is
    # awaiting the call, with one coroutine fewer than an ``async def`` wrapper would cost.
    if len(chain) == 1:
        (only,) = chain

        def method(proxy: ServiceProxy, *args: Any, **kwargs: Any) -> Awaitable[Any]:
            r = proxy._dolmen_resolution
            call = ModuleCall(r.caller, r.target, r.key, name, args, kwargs)
            return only(call, partial(getattr(proxy._dolmen_target, name), *args, **kwargs))

        return _named(method, name)

    last = len(chain)

    def chained(proxy: ServiceProxy, *args: Any, **kwargs: Any) -> Awaitable[Any]:
        r = proxy._dolmen_resolution
        target = proxy._dolmen_target
        call = ModuleCall(r.caller, r.target, r.key, name, args, kwargs)

        def proceed_from(index: int) -> Awaitable[Any]:
            if index == last:
                return getattr(target, name)(*args, **kwargs)  # type: ignore[no-any-return]
            return chain[index](call, lambda: proceed_from(index + 1))

        return proceed_from(0)

    return _named(chained, name)


def _named(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    method.__name__ = method.__qualname__ = name
    if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12+: tools see an async method
        inspect.markcoroutinefunction(method)
    return method
