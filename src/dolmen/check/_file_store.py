"""What the rules found in each file, kept so that a run after an edit judges that file alone.

One marshal file, ``<cache_dir>/check-files.marshal``, of plain tuples: for each file (path
relative to the root) its modification time and size, what the rules found in it (its
violations and the module edges it makes), its ``parse-error`` and its suppression comments.
Each file's entry is marshal data of its own, decoded when asked for: a run after an edit
reads the entries of the edited files only.
It holds for one context (settings, modules, the list of files): any change there and it is
set aside whole. A file changed within the last two seconds is not kept (see
:func:`dolmen.check._files.settled`).
"""

from __future__ import annotations

import marshal
import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dolmen.check._files import CACHE_VERSION, RACY_NS, warn_discarded
from dolmen.check._syntax import Suppression

if TYPE_CHECKING:
    from dolmen.check._project import Project

FILES_FILE = "check-files.marshal"

FileEntry = tuple[int, int, Any, tuple[Any, ...], tuple[Suppression, ...]]
"""(mtime_ns, size, the rules' findings in it, its parse-error or (), its suppressions)."""


class FileStore:
    """Loads and saves the findings of each file for one context."""

    def __init__(self, directory: str | None, context: bytes) -> None:
        self.file = os.path.join(directory, FILES_FILE) if directory is not None else None
        self.context = context
        self.stored: dict[str, bytes] = {}
        """Each file's entry as marshal data, by path relative to the root."""
        self.discarded = False
        if self.file is None:
            return
        try:
            with open(self.file, "rb") as file:
                data = file.read()
        except OSError:
            return
        try:
            version, stored_context, entries = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as error:
            warn_discarded(self.file, error)
            return
        if version == CACHE_VERSION and stored_context == context and isinstance(entries, dict):
            self.stored = entries

    def get(self, relative: str) -> FileEntry | None:
        """The entry of ``relative`` (path relative to the root), if one can be read."""
        data = self.stored.get(relative)
        if data is None:
            return None
        try:
            entry: FileEntry = marshal.loads(data)
        except (EOFError, ValueError, TypeError) as error:
            if not self.discarded:  # once: every entry of a damaged file may be unreadable
                warn_discarded(self.file, error)
            self.discarded = True
            return None
        return entry

    def save(
        self,
        listed: Sequence[tuple[str, str]],
        stats: Sequence[tuple[int, int]],
        reused: Sequence[FileEntry | None],
        judged: dict[str, Any],
        parse: dict[str, tuple[Any, ...]],
        comments: dict[str, tuple[Suppression, ...]],
    ) -> None:
        """Keep what was found in each file (``reused`` entries as they were).

        A file changed just now is judged again next time: its entry stays as it was (it
        still describes the file at its old time and size, should it come back to them).
        """
        if self.file is None:
            return
        limit = time.time_ns() - RACY_NS
        entries: dict[str, bytes] = {}
        added = False
        for (relative, _), (mtime, size), entry in zip(listed, stats, reused, strict=True):
            if entry is not None:
                entries[relative] = self.stored[relative]
            elif mtime < limit and relative in judged:
                found = (judged[relative], parse.get(relative, ()), comments.get(relative, ()))
                entries[relative] = marshal.dumps((mtime, size, *found))
                added = True
            elif relative in self.stored:
                entries[relative] = self.stored[relative]
        if not added and entries.keys() == self.stored.keys():
            return  # nothing new (a file changed just now is judged again next time)
        from dolmen.check._cache import write_atomically

        write_atomically(self.file, marshal.dumps((CACHE_VERSION, self.context, entries)))


def file_context(project: Project, listed: list[tuple[str, str]]) -> bytes:
    """What the rules' findings in one file depend on, besides the file itself.

    Settings, modules and every file's dotted name (``from pkg import sub`` reaches
    ``pkg.sub`` when it exists).
    """
    inputs = (project.settings, project.modules, project.app, project.app_dir)
    return repr(inputs).encode() + b"\0" + "\0".join(d for _, d in listed).encode()
