"""Checks on the module graph: names unique, dependencies known, no cycles, start-up order."""

from __future__ import annotations

from collections.abc import Sequence
from graphlib import CycleError, TopologicalSorter

from dolmen.modules._module import Module
from dolmen.modules.exceptions import (
    DependencyCycleError,
    DuplicateModuleError,
    UnknownDependencyError,
)


def ordered_modules(modules: Sequence[Module]) -> list[Module]:
    """Validate the module graph and return the modules in dependency order.

    A module comes after every module in its ``depends_on``; ``listens_to``
    edges do not constrain the order (events are asynchronous) and may point back.
    """
    by_name: dict[str, Module] = {}
    for module in modules:
        if module.name in by_name:
            raise DuplicateModuleError(
                f"two modules are named {module.name!r} (from packages "
                f"{by_name[module.name].package!r} and {module.package!r}); "
                "module names must be unique: rename one of them"
            )
        by_name[module.name] = module
    for module in modules:
        _check_known(module, "depends_on", module.depends_on, by_name)
        _check_known(module, "listens_to", module.listens_to, by_name)
    sorter = TopologicalSorter({m.name: m.depends_on for m in modules})
    try:
        return [by_name[name] for name in sorter.static_order()]
    except CycleError as error:
        # graphlib reports the cycle closed at both ends, deepest node first.
        cycle = list(reversed(error.args[1]))
        raise DependencyCycleError(cycle) from None


def _check_known(
    module: Module, field: str, names: Sequence[str], by_name: dict[str, Module]
) -> None:
    for name in names:
        if name == module.name:
            raise UnknownDependencyError(
                f"module {module.name!r} lists itself in {field}; remove it"
            )
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none"
            raise UnknownDependencyError(
                f"module {module.name!r} declares {field}={name!r}, but the application "
                f"has no module {name!r} (it has: {known}); add that module to the "
                f"App's modules or remove it from {field}"
            )
