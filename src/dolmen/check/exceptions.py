"""Errors of ``dolmen check`` itself (as opposed to violations it finds)."""

from __future__ import annotations


class CheckConfigError(ValueError):
    """The check's configuration is wrong; ``dolmen check`` exits with 2.

    A rule names a module or layer that does not exist, a module is declared
    twice, a value has the wrong type.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"configuration error: {p}" for p in problems))
