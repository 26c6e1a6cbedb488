"""Read the templates shipped inside Dolmen and render them into files.

A template tree is a folder of ``templates/`` in this package. Each ``*.tmpl`` file becomes
one file: the suffix is dropped, a leading ``dot-`` becomes ``.`` (``dot-gitignore``), and the
path parts ``_package_`` and ``_module_`` become the project's package and the module's name.
Placeholders read ``{{name}}``; ``{{{{`` writes ``{{``. A file that starts with ``#!`` is made
executable when written.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import PurePosixPath

from dolmen.scaffold.exceptions import ScaffoldError

_SUFFIX = ".tmpl"


class _Template(string.Template):
    """``{{name}}`` placeholders: Python, TOML and shell use ``$`` and single braces freely."""

    delimiter = "{{"
    # string.Template compiles a pattern given as text when the class is made (typeshed types
    # the attribute as the compiled pattern it becomes).
    pattern = r"""
    \{\{(?:
      (?P<escaped>\{\{) |
      (?P<named>[a-z][a-z_]*)\}\} |
      (?P<braced>(?!)) |
      (?P<invalid>)
    )
    """  # type: ignore[assignment]


@dataclass(frozen=True)
class RenderedFile:
    """One file to write: its path relative to where the tree goes, its text and mode."""

    path: PurePosixPath
    text: str

    @property
    def executable(self) -> bool:
        """Scripts (a ``#!`` first line) are written executable."""
        return self.text.startswith("#!")


def render_tree(tree: str, variables: Mapping[str, str]) -> list[RenderedFile]:
    """Render every template of ``templates/<tree>`` with ``variables``, sorted by path."""
    root = files("dolmen.scaffold").joinpath("templates", tree)
    if not root.is_dir():
        raise ScaffoldError(f"Dolmen's template tree {tree!r} is missing; reinstall Dolmen")
    rendered = [
        RenderedFile(_target(parts, variables), render_text(source, variables, "/".join(parts)))
        for parts, source in _walk(root, ())
    ]
    return sorted(rendered, key=lambda file: file.path)


def render_text(source: str, variables: Mapping[str, str], origin: str = "<text>") -> str:
    """Fill the ``{{name}}`` placeholders of ``source``; a missing variable is Dolmen's bug."""
    try:
        return _Template(source).substitute(variables)
    except (KeyError, ValueError) as error:
        raise ScaffoldError(f"template {origin} of Dolmen is broken: {error!r}") from None


def _walk(folder: Traversable, parts: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry, (*parts, entry.name))
        elif entry.name.endswith(_SUFFIX):
            yield (*parts, entry.name), entry.read_text(encoding="utf-8")


def _target(parts: tuple[str, ...], variables: Mapping[str, str]) -> PurePosixPath:
    names = []
    for part in parts:
        name = part.removesuffix(_SUFFIX)
        if name.startswith("dot-"):
            name = "." + name.removeprefix("dot-")
        if _is_slot(name):
            if name.strip("_") not in variables:
                raise ScaffoldError(f"template path {'/'.join(parts)} of Dolmen names no variable")
            name = variables[name.strip("_")]
        names.append(name)
    return PurePosixPath(*names)


def _is_slot(name: str) -> bool:
    """``_package_`` or ``_module_``: a path part named by a variable."""
    return len(name) > 2 and name[0] == name[-1] == "_" and name[1] != "_"
