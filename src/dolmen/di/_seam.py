"""The seam every cross-module call passes through.

When a module resolves a public service of another module, the container hands
the instance to the registered hooks first. A hook may wrap it (tracing,
metrics), or replace it (a client for a module deployed elsewhere).
:func:`intercepting` builds the common hook: a proxy that runs interceptors
around each coroutine method call.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CrossModuleResolution:
    """Module ``caller`` obtained the service ``key`` that module ``target`` provides."""

    caller: str
    target: str
    key: Any


CrossModuleHook = Callable[[CrossModuleResolution, Any], Any]
"""Takes the resolution and the instance; returns the instance the caller gets."""


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """One call of a coroutine method across a module boundary."""

    caller: str
    target: str
    key: Any
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


CallInterceptor = Callable[[ModuleCall, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""An ``async def interceptor(call, proceed)`` that awaits ``proceed()`` for the real call."""


def intercepting(interceptors: Sequence[CallInterceptor]) -> CrossModuleHook:
    """A hook that wraps cross-module services so ``interceptors`` run around each call.

    Interceptors run in the given order, the first one outermost. Only coroutine
    methods are intercepted: a module's public API is asynchronous.
    """
    chain = tuple(interceptors)

    def hook(resolution: CrossModuleResolution, instance: Any) -> Any:
        return ServiceProxy(instance, resolution, chain)

    return hook


class ServiceProxy:
    """Stands in for a service of another module and routes its calls through interceptors."""

    __slots__ = ("__chain", "__resolution", "__target")

    def __init__(
        self,
        target: Any,
        resolution: CrossModuleResolution,
        chain: tuple[CallInterceptor, ...],
    ) -> None:
        self.__target = target
        self.__resolution = resolution
        self.__chain = chain

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.__target, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute
        resolution, chain = self.__resolution, self.__chain

        @functools.wraps(attribute)
        async def call(*args: Any, **kwargs: Any) -> Any:
            module_call = ModuleCall(
                resolution.caller, resolution.target, resolution.key, name, args, kwargs
            )

            async def proceed_from(index: int) -> Any:
                if index == len(chain):
                    return await attribute(*args, **kwargs)
                return await chain[index](module_call, lambda: proceed_from(index + 1))

            return await proceed_from(0)

        return call

    def __repr__(self) -> str:
        return f"<proxy for {self.__target!r} seen from module {self.__resolution.caller!r}>"
