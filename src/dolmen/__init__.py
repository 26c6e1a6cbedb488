"""Dolmen: a framework and toolchain for modular monoliths that scale gracefully.

The names most applications need are here; each capability's sub-package
(``dolmen.modules``, ``dolmen.di``, ``dolmen.http``, ``dolmen.persistence``,
``dolmen.events``, ``dolmen.config``, ``dolmen.check``) has the rest. They are
imported on first use, so tools such as ``dolmen check`` start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dolmen._version import __version__

if TYPE_CHECKING:
    from dolmen.di import Lifetime, provide, provide_value
    from dolmen.events import Event, EventPublisher
    from dolmen.http import Inject, problem_responses
    from dolmen.modules import App, CompositionError, Extension, Module, Work, on
    from dolmen.persistence import ModuleTables, UnitOfWork

_HOMES = {
    "App": "dolmen.modules",
    "CompositionError": "dolmen.modules",
    "Event": "dolmen.events",
    "EventPublisher": "dolmen.events",
    "Extension": "dolmen.modules",
    "Inject": "dolmen.http",
    "Lifetime": "dolmen.di",
    "Module": "dolmen.modules",
    "ModuleTables": "dolmen.persistence",
    "UnitOfWork": "dolmen.persistence",
    "Work": "dolmen.modules",
    "on": "dolmen.modules",
    "problem_responses": "dolmen.http",
    "provide": "dolmen.di",
    "provide_value": "dolmen.di",
}

__all__ = [
    "App",
    "CompositionError",
    "Event",
    "EventPublisher",
    "Extension",
    "Inject",
    "Lifetime",
    "Module",
    "ModuleTables",
    "UnitOfWork",
    "Work",
    "__version__",
    "on",
    "problem_responses",
    "provide",
    "provide_value",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its sub-package the first time it is used."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dolmen' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
