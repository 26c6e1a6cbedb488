"""Errors raised while composing an application from its modules."""

from __future__ import annotations


class CompositionError(ValueError):
    """The modules given to an :class:`~dolmen.App` do not fit together.

    Raised at start-up, before anything runs, with a message that names the
    modules involved and says what to change.
    """


class DuplicateModuleError(CompositionError):
    """Two modules were declared with the same name."""


class UnknownDependencyError(CompositionError):
    """A module depends on (or listens to) a module the application does not contain."""


class DependencyCycleError(CompositionError):
    """The declared ``depends_on`` relations form a cycle."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        path = " -> ".join(cycle)
        super().__init__(
            f"modules depend on each other in a cycle: {path}. "
            "Break it by moving the shared contract into one module, by inverting one "
            "dependency behind a port, or by reacting to an event instead of calling "
            "(declare that with listens_to=[...], which may point back)."
        )
