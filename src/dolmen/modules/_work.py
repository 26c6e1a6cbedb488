"""``Work``: one unit of work as the runtime sees it (services, transaction, events)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from dolmen.di import ServiceScope
from dolmen.events import Event, PendingEvents
from dolmen.persistence import UnitOfWork

if TYPE_CHECKING:
    from typing_extensions import TypeForm

T = TypeVar("T")


class Work:
    """The services, transaction and published events of one request, command or handler.

    ``get(Key)`` resolves a service as seen from ``module``. Leaving
    :meth:`dolmen.App.unit_of_work` commits (or rolls back on error). Events published
    in it are written to the outbox in its transaction, just before the commit.
    """

    __slots__ = ("_published", "_write_outbox", "module", "pending", "scope", "uow")

    def __init__(
        self,
        scope: ServiceScope,
        uow: UnitOfWork,
        module: str | None,
        write_outbox: Callable[
            [UnitOfWork, Sequence[tuple[Event, str | None, str | None]]], Awaitable[bool]
        ],
        published: Callable[[], None],
    ) -> None:
        self.scope = scope
        self.uow = uow
        self.module = module
        self.pending = PendingEvents()
        self._write_outbox = write_outbox
        self._published = published
        scope.state["work"] = self

    async def get(self, key: TypeForm[T], module: str | None = None) -> T:
        """The service ``key`` as seen from ``module`` (default: this work's module).

        ``key`` is a type (a class or a Protocol) and the result is typed as one, so
        ``await work.get(CatalogService)`` is a ``CatalogService`` to mypy and pyright.
        """
        viewer = module or self.module
        if viewer is None:
            raise TypeError("this unit of work belongs to no module; pass module=")
        return await self.scope.container.resolve(key, viewer, self.scope)

    async def commit(self) -> None:
        """Write the published events to the outbox, then commit them with everything else."""
        if self.pending.events:
            events, self.pending.events = self.pending.events, []
            if await self._write_outbox(self.uow, events):
                # Once committed (a nested unit of work: once the one it is nested in is).
                self.uow.after_commit(self._published)
        await self.uow.commit()

    async def rollback(self) -> None:
        """Roll back the transaction; published events are discarded."""
        self.pending.events.clear()
        await self.uow.rollback()

    async def close(self) -> None:
        """Release the unit of work's services and connection (rolling back if still open)."""
        try:
            await self.uow.rollback()
        finally:
            try:
                await self.scope.aclose()
            finally:
                # The scope refers to this work and the work to it: without the cycle, both
                # are freed at once, not by the garbage collector's next pass.
                self.scope.state.clear()
