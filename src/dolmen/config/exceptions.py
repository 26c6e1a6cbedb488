"""Errors raised while loading configuration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dolmen.config._masking import mask_credentials

if TYPE_CHECKING:
    from dolmen.config._problems import Problem


class ConfigurationError(ValueError):
    """The configuration has problems; ``problems`` lists every one of them.

    Its message is the whole report, one problem a line, each naming the key,
    where its value came from, and what was expected.
    """

    def __init__(self, problems: Sequence[Problem], environment: str) -> None:
        self.problems = list(problems)
        self.environment = environment
        count = len(self.problems)
        header = (
            f"configuration for environment {mask_credentials(repr(environment))} has {count} "
            f"problem{'s' if count != 1 else ''}:"
        )
        super().__init__("\n".join([header, *(f"  - {p}" for p in self.problems)]))
