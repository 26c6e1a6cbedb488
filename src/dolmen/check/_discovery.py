"""Find a Dolmen app's modules: its ``Module(...)`` declarations, read statically.

A declaration is a call of Dolmen's ``Module`` (``from dolmen import Module``, ``from
dolmen.modules import Module``, any alias of those, or ``dolmen.Module``) in any file under
the roots. Nothing is imported: the call's arguments must be literals. The module's package
is the one given with ``package=``, else the package of the declaring file, as at run time.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from typing import Any

from dolmen.check._files import RACY_NS
from dolmen.check._model import ModuleSpec

_DECLARES = re.compile(rb"\bModule\b")


Found = dict[str, tuple[int, int, tuple[tuple[Any, ...], ...]]]
"""What each file declares, by path relative to the root: (mtime_ns, size, specs as tuples)."""


def declared_in_code(
    root: str,
    files: list[tuple[str, str]],
    stats: list[tuple[int, int]],
    *,
    only_declaration_files: bool = False,
    known: Found | None = None,
) -> Iterator[ModuleSpec]:
    """The ``Module(...)`` declarations in ``files`` (path relative to ``root``, dotted name).

    With ``only_declaration_files``, only files named ``module.py`` are read. ``known`` is
    what an earlier run found in each file: a file with the same time and size is not read
    again; what is found in the others is added to it (a file changed just now with time -1).
    """
    found = {} if known is None else known
    limit = time.time_ns() - RACY_NS
    for (relative, dotted), (mtime, size) in zip(files, stats, strict=True):
        if only_declaration_files and (
            not relative.endswith("module.py") or os.path.basename(relative) != "module.py"
        ):
            continue
        cached = found.get(relative)
        if cached is not None and cached[0] == mtime and cached[1] == size:
            yield from (ModuleSpec(*spec) for spec in cached[2])
            continue
        try:
            with open(os.path.join(root, relative), "rb") as file:
                data = file.read()
        except OSError:
            continue  # reported as a parse-error by the scan
        specs: tuple[ModuleSpec, ...] = ()
        if b"dolmen" in data and _DECLARES.search(data):
            specs = tuple(_declarations(data, relative, dotted))
        found[relative] = (mtime if mtime < limit else -1, size, tuple(map(_plain, specs)))
        yield from specs


def _plain(spec: ModuleSpec) -> tuple[Any, ...]:
    return (spec.name, spec.package, spec.depends_on, spec.listens_to, spec.public,
            spec.declared_at)  # fmt: skip


def _declarations(data: bytes, relative: str, dotted: str) -> Iterator[ModuleSpec]:
    """The modules ``data`` declares (``ast`` is loaded only when a file may declare one)."""
    from dolmen.check._declarations import declarations_in

    return declarations_in(data, relative, dotted)
