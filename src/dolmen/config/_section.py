"""``ConfigSection``: one top-level section of the configuration and who owns it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class ConfigSection:
    """A section of the configuration: ``[name]`` in ``dolmen.toml``, validated by ``settings``.

    The framework's own sections (``app``, ``events``) and those of extensions are
    declared this way; a module's section is its ``Module(settings=...)``. ``description``
    says what the section is for, in the words of an error message ("event delivery
    settings"). A module may not take the name of a section: it would share it.
    """

    name: str
    settings: type[BaseModel]
    description: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"configuration section name {self.name!r} is not valid: use lower-case "
                "letters, digits and underscores, starting with a letter (it becomes "
                "[name] in dolmen.toml and DOLMEN__NAME__<KEY>)"
            )
        if not (isinstance(self.settings, type) and issubclass(self.settings, BaseModel)):
            raise TypeError(
                f"the settings of section {self.name!r} must be a pydantic model class "
                f"(BaseModel or BaseSettings), got {self.settings!r}"
            )
