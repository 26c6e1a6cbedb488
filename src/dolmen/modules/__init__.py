"""Modules and their composition into one application."""

from dolmen.modules._app import App
from dolmen.modules._extension import DeliveryInterceptor, EventRoutes, Extension
from dolmen.modules._module import Handler, Module, Subscription, on
from dolmen.modules._work import Work
from dolmen.modules.exceptions import (
    CompositionError,
    DependencyCycleError,
    DuplicateModuleError,
    UnknownDependencyError,
)

__all__ = [
    "App",
    "CompositionError",
    "DeliveryInterceptor",
    "DependencyCycleError",
    "DuplicateModuleError",
    "EventRoutes",
    "Extension",
    "Handler",
    "Module",
    "Subscription",
    "UnknownDependencyError",
    "Work",
    "on",
]
