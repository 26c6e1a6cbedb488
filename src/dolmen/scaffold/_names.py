"""Which names a new project or module may take, and why the others are refused.

A project's name is its top-level Python package, its distribution and its app's name; a
module's name is a sub-package, a URL prefix, a configuration section, a table prefix and, on
PostgreSQL, a schema. Each refusal says what to choose instead.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys

from dolmen.scaffold.exceptions import InvalidNameError

_NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_PROJECT_LENGTH = 20
"""The longest project name: generated lines stay within 100 columns (ruff's limit there)."""

MAX_MODULE_LENGTH = 24
"""The longest module name: generated lines stay within 100 columns, and ``<module>__<table>``
and its constraints' names within PostgreSQL's 63 characters."""

_POSTGRES_SCHEMAS = {"public", "information_schema"}
"""Schemas every PostgreSQL database has: a module's tables must not land in them."""


def _refused_by_dolmen(name: str) -> str | None:
    """Why an app would refuse a module named ``name`` (a section or name Dolmen keeps), if so.

    Asked of an ``App`` itself, so the list stays the one Dolmen checks at start-up.
    """
    from dolmen.modules import App, CompositionError, Module

    try:
        App("dolmen_new", modules=[Module(name, package="dolmen_new")])
    except CompositionError as error:
        return str(error)
    return None


def _shape(kind: str, name: str, longest: int) -> None:
    """Refuse a name that is not a lower-case identifier Dolmen accepts for ``kind``."""
    if not _NAME.fullmatch(name):
        suggestion = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
        hint = f", e.g. {suggestion!r}" if suggestion and _NAME.fullmatch(suggestion) else ""
        raise InvalidNameError(
            f"{kind} name {name!r} is not valid: use lower-case letters, digits and "
            f"underscores, starting with a letter{hint} (it becomes a Python package)"
        )
    if len(name) > longest:
        raise InvalidNameError(
            f"{kind} name {name!r} is {len(name)} characters long; keep it to {longest} "
            "(it names packages, classes and, for a module, tables and constraints)"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise InvalidNameError(
            f"{kind} name {name!r} is a Python keyword, so no import statement can name the "
            f"package; choose another, e.g. {_other(name)}"
        )
    if name in sys.stdlib_module_names:
        raise InvalidNameError(
            f"{kind} name {name!r} is a module of Python's standard library; a package of "
            "that name shadows it wherever its folder is on the import path; choose another, "
            f"e.g. {_other(name)}"
        )


def _other(name: str) -> str:
    """Two names to suggest instead of ``name``."""
    plural = "" if name.endswith("s") else f"'{name}s' or "
    return f"{plural}'my_{name}'"


def check_project_name(name: str) -> None:
    """Refuse (:class:`InvalidNameError`) a project name that cannot be a top-level package.

    Besides the rules of :func:`check_module_name`'s shape, the name must not be importable
    already: the project's package would shadow an installed one (``dolmen``, ``fastapi``) or
    be shadowed by it.
    """
    _shape("project", name, MAX_PROJECT_LENGTH)
    if importlib.util.find_spec(name) is not None:
        raise InvalidNameError(
            f"project name {name!r} is already an installed package here; the project's "
            f"package would shadow it or be shadowed by it; choose another, e.g. 'my_{name}'"
        )


def check_module_name(name: str, taken: dict[str, str] | None = None) -> None:
    """Refuse (:class:`InvalidNameError`) a module name Dolmen or Python cannot use.

    ``taken`` maps names already in use in the project to what uses them (an existing module,
    a file or package of the project).
    """
    _shape("module", name, MAX_MODULE_LENGTH)
    if (refusal := _refused_by_dolmen(name)) is not None:
        raise InvalidNameError(f"module name {name!r} is taken by Dolmen: {refusal}")
    if name in _POSTGRES_SCHEMAS or name.startswith("pg_"):
        raise InvalidNameError(
            f"module name {name!r} names a schema PostgreSQL reserves or shares (each module "
            "gets a schema of its own there); choose another"
        )
    if taken and name in taken:
        raise InvalidNameError(
            f"module name {name!r} is taken: {taken[name]}; choose another name, or remove "
            "what is there first"
        )
