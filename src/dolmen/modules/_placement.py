"""Which of an app's modules this process runs: what its extensions say, together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dolmen.modules.exceptions import CompositionError

if TYPE_CHECKING:
    from dolmen.config import ConfigSection, LoadedConfig
    from dolmen.modules._app import App
    from dolmen.modules._module import Module


def placed_modules(
    app: App, config: LoadedConfig, sections: Sequence[ConfigSection | None]
) -> list[Module]:
    """The modules every extension of ``app`` lets this process run, under ``config``.

    Each extension's ``local_modules(app, settings)`` (``sections`` are theirs, in order)
    names the modules it lets run here, or says nothing (None); the app runs those all of
    them let run, in dependency order, and every module when none has a say.
    """
    known = {m.name for m in app.modules}
    chosen: set[str] | None = None
    for extension, section in zip(app.extensions, sections, strict=True):
        names = extension.local_modules(app, config.section(section.name) if section else None)
        if names is None:
            continue
        unknown = sorted(set(names) - known)
        if unknown:
            raise CompositionError(
                f"extension {extension!r} places modules {unknown} in this process, but app "
                f"{app.name!r} has no such module; it has {sorted(known)}"
            )
        chosen = set(names) if chosen is None else chosen & set(names)
    if chosen is None:
        return app.modules
    return [m for m in app.modules if m.name in chosen]
