"""The framework's own configuration sections and reserved names: the one list of them.

A section is registered here by the part of Dolmen that owns it; an extension brings its
own (:meth:`dolmen.modules.Extension.section`). Module names may take none of these names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dolmen.config import AppSettings, ConfigSection
from dolmen.events import EventSettings
from dolmen.modules._module import Module
from dolmen.modules.exceptions import CompositionError

FRAMEWORK_SECTIONS = (
    ConfigSection("app", AppSettings, "the application's own settings"),
    # Moves to the event runtime's extension once the runtime is one.
    ConfigSection("events", EventSettings, "event delivery settings"),
)
"""The sections every app has, in the order the configuration reference lists them."""

RESERVED_NAMES = {"dolmen": "Dolmen's outbox tables"}
"""Names taken for something other than a configuration section."""


def check_sections(sections: Sequence[ConfigSection], modules: Iterable[Module]) -> None:
    """Each section name is used once, and no module takes a section's or a reserved name."""
    owners: dict[str, str] = dict(RESERVED_NAMES)
    for section in sections:
        if section.name in owners:
            raise CompositionError(
                f"configuration section {section.name!r} ({section.description}) is declared "
                f"twice: its name is taken by {owners[section.name]}; rename one of them"
            )
        owners[section.name] = section.description
    for module in modules:
        if module.name in owners:
            raise CompositionError(
                f"module name {module.name!r} is reserved ({owners[module.name]}); rename "
                "the module"
            )
