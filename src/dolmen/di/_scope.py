"""A unit-of-work scope: the per-request (or per-command, per-event) service instances."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import TypeForm

    from dolmen.di._container import Container

T = TypeVar("T")


class ServiceScope:
    """Caches unit-of-work services and releases them, last built first, on close.

    ``state`` carries what the runtime attaches to the scope (its unit of work).
    """

    __slots__ = ("cleanups", "container", "instances", "state")

    def __init__(self, container: Container) -> None:
        self.container = container
        self.instances: dict[Any, Any] = {}
        self.cleanups: list[Callable[[], Awaitable[None]]] = []
        self.state: dict[str, Any] = {}

    async def get(self, key: TypeForm[T], module: str) -> T:
        """Resolve ``key`` as seen from ``module`` within this scope."""
        return await self.container.resolve(key, module, self)

    async def aclose(self) -> None:
        """Release this scope's services."""
        self.instances.clear()
        if not self.cleanups:  # most requests: nothing to release
            return
        from dolmen.di._container import _run_cleanups

        cleanups, self.cleanups = self.cleanups, []
        await _run_cleanups(cleanups)
