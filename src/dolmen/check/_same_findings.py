"""Whether an edit that changed a file's imports leaves the rules' findings in it unchanged.

After ``import os`` is added at the top of a file, every import in it moves one line down,
yet the rules may find exactly what they found before: the same violations at the same
lines and the same module edges. The last answer then still holds. Only the edited files
are judged, against the project as the answer saw it (same ``pyproject.toml``, same files);
every other file, the suppressions, the baseline and the rendering are left alone, so such
a run costs little more than a warm one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from dolmen.check._file_store import FileStore, file_context
from dolmen.check._files import Folder, Skipped
from dolmen.check._project import load_project
from dolmen.check._resolve import with_parents
from dolmen.check._rules import FileFindings, SourceFile, check_files

Listing = tuple[list[tuple[str, str]], list[tuple[int, int]], list[Folder], tuple[Skipped, ...]]
"""The files as they are now, their (mtime_ns, size), the folders listed, what was skipped."""
Edited = tuple[int, tuple[tuple[Any, ...], ...]]
"""An edited file: its index in the listing, and its imports as scanned now (plain tuples)."""


def same_findings(
    root: str,
    tool: dict[str, Any] | None,
    listing: Listing,
    answered: Sequence[tuple[int, int]],
    edited: Sequence[Edited],
) -> bool:
    """Whether the rules find in each of ``edited`` what they found when the answer was made.

    ``listing`` is the files as they are now (with their new times), ``answered`` the
    (mtime_ns, size) of each when the answer was computed, ``tool`` ``[tool.dolmen]`` as the
    answer read it. Where each module edge is first made counts only when the cycle rule,
    whose messages name those places, is on. Anything unusual (a file the findings cache
    does not describe as the answer saw it, an error) says no: the full check then runs.
    """
    try:
        return _same(root, tool, listing, answered, edited)
    except Exception:  # the full check runs next, and reports whatever is wrong
        return False


def _same(
    root: str,
    tool: dict[str, Any] | None,
    listing: Listing,
    answered: Sequence[tuple[int, int]],
    edited: Sequence[Edited],
) -> bool:
    project, listed, _ = load_project(root, listing=listing, tool=tool)
    settings = project.settings
    cache_dir = os.path.join(project.folder, settings.cache_dir)
    store = FileStore(cache_dir, file_context(project, listed))
    known = with_parents({dotted for _, dotted in listed})
    places_matter = settings.rule_on("dependency-cycle")
    for index, imports in edited:
        relative, dotted = listed[index]
        before = store.get(relative)
        if before is None or (before[0], before[1]) != tuple(answered[index]):
            return False
        judged: dict[str, FileFindings] = {}
        source = SourceFile(relative, dotted, relative.endswith("__init__.py"), imports)
        check_files(project, [source], known, judged)
        violations, made = judged[relative]
        old_violations, old_made = before[2]
        if violations != tuple(map(tuple, old_violations)):
            return False
        if places_matter and made != tuple(map(tuple, old_made)):
            return False
        if {(m[0], m[1], m[-1]) for m in made} != {(m[0], m[1], m[-1]) for m in old_made}:
            return False
    return True
