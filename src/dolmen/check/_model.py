"""What ``dolmen check`` works with: modules, settings, and violations.

Named tuples rather than dataclasses: loading ``dataclasses`` (and ``inspect`` with it) and
building the classes cost a run after an edit more than judging the edited file.
"""

from __future__ import annotations

from typing import NamedTuple

from dolmen.check._files import (
    DEFAULT_BASELINE,
    DEFAULT_CACHE_DIR,
    DEFAULT_EVENTS_LOCK,
    DEFAULT_ROOTS,
)

DEFAULT_LAYERS: tuple[tuple[str, str], ...] = (
    ("web", "service"),
    ("service", "domain"),
    ("adapters", "domain"),
)
"""Inside a module, who may import whom: web -> service -> domain, adapters -> domain."""

DEFAULT_FORBIDDEN: dict[str, tuple[str, ...]] = {"domain": ("fastapi", "starlette", "sqlalchemy")}
"""Third-party packages a layer may not import: the domain stays framework-free."""

OUTSIDE_POLICIES = ("ignore", "public", "forbid")


class ModuleSpec(NamedTuple):
    """One module: its package, what it may use, and which of its parts are public."""

    name: str
    package: str
    depends_on: tuple[str, ...] = ()
    listens_to: tuple[str, ...] = ()
    public: tuple[str, ...] = ("api",)
    declared_at: str = "pyproject.toml"

    def is_public(self, target: str) -> bool:
        """Whether the dotted name ``target`` (inside this module) is part of its public API.

        The part ``__init__`` is the package itself: the names its ``__init__.py`` exports
        (``from acme.billing import charge``), not its submodules.
        """
        if "*" in self.public:
            return True
        rest = target[len(self.package) + 1 :] if target != self.package else ""
        if not rest:
            return "__init__" in self.public
        return any(rest == part or rest.startswith(f"{part}.") for part in self.public)

    def layer_of(self, target: str) -> str:
        """The first part of ``target`` below the package (``domain`` for ``x.domain.order``)."""
        rest = target[len(self.package) + 1 :] if target != self.package else ""
        return rest.split(".", 1)[0]


class CheckSettings(NamedTuple):
    """The rules' settings, from ``[tool.dolmen.check]``."""

    roots: tuple[str, ...] = DEFAULT_ROOTS
    exclude: tuple[str, ...] = ()
    layers: tuple[tuple[str, str], ...] = DEFAULT_LAYERS
    module_layers: tuple[tuple[str, ...], ...] = ()
    forbidden: dict[str, tuple[str, ...]] = DEFAULT_FORBIDDEN
    """Shared by the settings that keep the default: never changed in place."""
    type_checking_imports: bool = True
    unused_dependencies: bool = False
    outside_modules: str = "public"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    baseline: str = DEFAULT_BASELINE
    cache_dir: str = DEFAULT_CACHE_DIR
    events_lock: str = DEFAULT_EVENTS_LOCK

    def rule_on(self, rule: str) -> bool:
        """Whether ``rule`` is on: in ``select`` (or no select given) and not in ``ignore``."""
        return (not self.select or rule in self.select) and rule not in self.ignore


class Violation(NamedTuple):
    """One broken rule at one place."""

    rule: str
    message: str
    path: str
    line: int
    col: int
    module: str
    target: str = ""

    @property
    def fingerprint(self) -> tuple[str, str, str, str]:
        """What identifies it across edits that move lines: rule, file, module, target."""
        return (self.rule, self.path, self.module, self.target or self.message)


RULES: dict[str, str] = {
    "private-import": "imports a part of another module that is not in its public API",
    "undeclared-dependency": "uses a module that is not in its depends_on (or listens_to)",
    "dependency-cycle": "modules depend on each other in a cycle",
    "layer-violation": "a layer inside a module imports a layer it may not use",
    "module-layer-violation": "a module imports a module of a higher layer",
    "forbidden-import": "a layer imports a third-party package it must not depend on",
    "unused-dependency": "a declared dependency is never imported",
    "outside-import": "code outside every module imports a module's private part",
    "parse-error": "a file could not be read or parsed as Python",
    "unused-suppression": "a suppression comment matches no violation",
    "event-schema": "an event changed in a way that breaks its stored events (see the events lock)",
}
"""Every rule id and what it means (stable: suppressions and baselines name them)."""
