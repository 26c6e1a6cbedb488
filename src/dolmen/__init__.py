"""Dolmen: a framework and toolchain for modular monoliths that scale gracefully.

The names most applications need are here; each capability's sub-package
(``dolmen.modules``, ``dolmen.di``, ``dolmen.http``, ``dolmen.persistence``,
``dolmen.events``, ``dolmen.config``) has the rest.
"""

from dolmen._version import __version__
from dolmen.di import Lifetime, provide, provide_value
from dolmen.events import Event, EventPublisher
from dolmen.http import Inject
from dolmen.modules import App, CompositionError, Module, Work
from dolmen.persistence import ModuleTables, UnitOfWork

__all__ = [
    "App",
    "CompositionError",
    "Event",
    "EventPublisher",
    "Inject",
    "Lifetime",
    "Module",
    "ModuleTables",
    "UnitOfWork",
    "Work",
    "__version__",
    "provide",
    "provide_value",
]
