"""Wiring an app's container: module providers, settings, and per-unit-of-work values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from dolmen.di import Container, Interceptor, Lifetime, ServiceScope, provide
from dolmen.events import EventPublisher, ModulePublisher
from dolmen.modules._module import Module
from dolmen.modules._work import Work
from dolmen.persistence import UnitOfWork

SettingsLookup = Callable[[str], BaseModel]
"""Returns the validated settings of a module, by name."""


def build_container(
    modules: Sequence[Module], settings: SettingsLookup, interceptors: Iterable[Interceptor] = ()
) -> Container:
    """The container of ``modules``, with the seam's ``interceptors`` (App's and extensions')."""
    container = Container({m.name: frozenset(m.depends_on) for m in modules}, interceptors)
    for module in modules:
        for provider in module.providers:
            container.register(module.name, provider)
        if module.settings is not None:
            container.register(
                module.name, _settings_provider(settings, module.name, module.settings)
            )
    container.register_contextual(AsyncSession, _session)
    container.register_contextual(UnitOfWork, _unit_of_work)
    container.register_contextual(EventPublisher, _publisher)
    container.register_contextual(Work, _work)
    return container


def _settings_provider(settings: SettingsLookup, module: str, settings_class: type[Any]) -> Any:
    return provide(settings_class, lambda: settings(module), lifetime=Lifetime.APP)


async def _session(scope: ServiceScope, module: str) -> AsyncSession:
    uow: UnitOfWork = scope.state["uow"]
    return await uow.session(module)


async def _unit_of_work(scope: ServiceScope, module: str) -> UnitOfWork:
    uow: UnitOfWork = scope.state["uow"]
    return uow


async def _publisher(scope: ServiceScope, module: str) -> EventPublisher:
    work: Work = scope.state["work"]
    return ModulePublisher(module, work.pending)


async def _work(scope: ServiceScope, module: str) -> Work:
    work: Work = scope.state["work"]
    return work
