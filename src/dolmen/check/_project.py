"""Read what to check: ``[tool.dolmen.check]`` in pyproject.toml, and the modules.

Modules come from one place per project: the ``Module(...)`` declarations of a
Dolmen app (read statically, nothing is imported), or, for any other codebase,
``[[tool.dolmen.check.modules]]`` entries.
"""

from __future__ import annotations

import marshal
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dolmen.check._config import TOOL_KEYS, check_settings, module_entry, unknown_keys
from dolmen.check._files import (
    CACHE_VERSION,
    Folder,
    Skipped,
    make_cache_dir,
    python_files,
    stat_files,
    warn_discarded,
)
from dolmen.check._model import CheckSettings, ModuleSpec
from dolmen.check._resolve import with_parents
from dolmen.check.exceptions import CheckConfigError

if TYPE_CHECKING:
    from pathlib import Path  # built only when asked for: loading pathlib costs a warm run


class Project:
    """A codebase to check: its folder, settings, modules and Python files.

    ``app`` is ``[tool.dolmen] app`` (``package.module:attribute``) when the project names
    its Dolmen app, and ``app_dir`` the folder it is imported from (``[tool.dolmen]
    app-dir``, relative to the root): the ``event-schema`` rule imports it. ``skipped``:
    the files and folders under the roots that could not be looked at, with the reason;
    ``tool``: ``[tool.dolmen]`` as read from ``pyproject.toml`` (kept with the answer).
    ``folder`` is the root as a string (what the check itself uses), ``root`` as a Path.
    """

    __slots__ = (
        *("_by_package", "_root", "app", "app_dir", "folder", "modules", "settings"),
        *("skipped", "tool"),
    )

    def __init__(
        self,
        root: str | os.PathLike[str],
        settings: CheckSettings,
        modules: tuple[ModuleSpec, ...],
        app: str | None = None,
        app_dir: str = ".",
        skipped: tuple[Skipped, ...] = (),
        tool: dict[str, Any] | None = None,
    ) -> None:
        self.folder = os.fspath(root)
        self._root: Path | None = None
        self.settings = settings
        self.modules = modules
        self.app = app
        self.app_dir = app_dir
        self.skipped = skipped
        self.tool = tool
        self._by_package = {module.package: module for module in modules}

    @property
    def root(self) -> Path:
        """The project's folder."""
        if self._root is None:
            from pathlib import Path

            self._root = Path(self.folder)
        return self._root

    def __repr__(self) -> str:
        return f"Project({self.folder!r}, {self.settings!r}, {self.modules!r}, {self.app!r})"

    def module_of(self, dotted: str) -> ModuleSpec | None:
        """The module whose package contains ``dotted``, the deepest one if nested."""
        by_package = self._by_package
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            module = by_package.get(".".join(parts[:end]))
            if module is not None:
                return module
        return None


Listed = tuple[list[tuple[str, str]], list[tuple[int, int]], list[Folder], tuple[Skipped, ...]]
"""A listing still valid: the files, their (mtime_ns, size), the folders, what was skipped."""


def load_project(
    root: str | os.PathLike[str],
    folders: list[Folder] | None = None,
    *,
    use_cache: bool = True,
    listing: Listed | None = None,
    on_listed: Callable[[str, CheckSettings, list[tuple[str, str]]], None] | None = None,
    tool: dict[str, Any] | None = None,
) -> tuple[Project, list[tuple[str, str]], list[tuple[int, int]]]:
    """Read ``root/pyproject.toml``, list the Python files and find the modules.

    Returns the project, its files (path relative to the root, dotted name) and their
    (mtime_ns, size), taken before they are read; adds
    the folders listed to ``folders`` (see :func:`python_files`); raises CheckConfigError
    for a missing or wrong configuration, and when there is nothing to check (no files,
    no modules). Folders are remembered for the cache, so the cache folder is made first:
    making it later would change the time of the folder holding it. ``listing`` is the
    last run's, when no folder changed since: the files are not listed again.
    ``on_listed`` is called with the root, the settings and the files as soon as they are
    listed (a cold check starts scanning them then). ``tool`` is ``[tool.dolmen]`` as the
    last run parsed it from the same ``pyproject.toml`` (its parser is then not loaded).
    """
    root = os.path.realpath(root)
    pyproject = os.path.join(root, "pyproject.toml")
    settings, entries, app, app_dir, tool = _configuration(root, pyproject, tool)
    if folders is not None:
        make_cache_dir(os.path.join(root, settings.cache_dir))
    skipped: list[Skipped] = []
    if listing is not None:
        files, stats, listed_folders, was_skipped = listing
        skipped = list(was_skipped)
        if folders is not None:
            folders.extend(listed_folders)
    else:
        files = python_files(root, settings.roots, settings.exclude, folders, skipped)
        if on_listed is not None and files:
            on_listed(root, settings, files)
    if not files:
        raise CheckConfigError(
            [
                f"no Python files to check under the roots ({', '.join(settings.roots)}) of "
                f"{root}; set [tool.dolmen.check] roots to the folders holding your packages"
                + "".join(f"\n  {path}: {reason}" for path, _, reason in skipped)
            ],
            _shown(pyproject),
        )
    if listing is None:
        stats = stat_files(root, files)
    cache_dir = os.path.join(root, settings.cache_dir) if use_cache else None
    modules = _modules(root, pyproject, settings, entries, (files, stats), cache_dir)
    project = Project(root, settings, modules, app, app_dir, tuple(skipped), tool)
    return project, files, stats


Entries = list[tuple[ModuleSpec, bool]]


def _configuration(
    root: str, pyproject: str, tool: dict[str, Any] | None = None
) -> tuple[CheckSettings, Entries, str | None, str, dict[str, Any]]:
    """The settings, module entries and app of ``pyproject``, every problem reported at once."""
    if not os.path.isfile(pyproject):
        raise CheckConfigError(
            [
                f"no pyproject.toml in {root}: dolmen check reads what to check from its "
                "[tool.dolmen.check] table; add one (an empty table checks with the defaults, "
                "see docs/check.md), or give the project's folder: dolmen check PATH"
            ]
        )
    shown = _shown(pyproject)
    try:
        if tool is None:
            from pathlib import Path

            from dolmen._pyproject import tool_dolmen

            tool = tool_dolmen(Path(pyproject))
    except ValueError as error:
        raise CheckConfigError([str(error)]) from None
    table = tool.get("check")
    if table is None:
        raise CheckConfigError(
            [
                "no [tool.dolmen.check] table: add one to say what to check (an empty table "
                "checks with the defaults, see docs/check.md)"
            ],
            shown,
        )
    problems = unknown_keys(tool, TOOL_KEYS, "[tool.dolmen]")
    app, app_dir = _app(tool, problems)
    if not isinstance(table, dict):
        raise CheckConfigError([*problems, "[tool.dolmen.check] must be a table"], shown)
    settings, more = check_settings(table)
    problems.extend(more)
    entries = _entries(table.get("modules", []), pyproject, problems)
    problems.extend(_missing_roots(root, settings))
    if problems:
        raise CheckConfigError(problems, shown)
    return settings, entries, app, app_dir, tool


def _shown(path: str) -> str:
    """``path`` relative to the working folder when it is below it, else in full."""
    here = os.getcwd()
    below = path.startswith(here.rstrip(os.sep) + os.sep)
    return os.path.relpath(path, here) if below else path


def _app(tool: dict[str, Any], problems: list[str]) -> tuple[str | None, str]:
    """``[tool.dolmen] app`` and ``app-dir``: the app the ``event-schema`` rule imports."""
    app, app_dir = tool.get("app"), tool.get("app-dir", ".")
    if app is not None and (not isinstance(app, str) or not app):
        problems.append(f"[tool.dolmen] app must be a string like 'shop.app:app', got {app!r}")
        app = None
    if not isinstance(app_dir, str):
        problems.append(f"[tool.dolmen] app-dir must be a folder name, got {app_dir!r}")
        app_dir = "."
    return app, app_dir


def _entries(value: Any, pyproject: str, problems: list[str]) -> Entries:
    """The ``[[tool.dolmen.check.modules]]`` entries, with whether each names its public parts."""
    if not isinstance(value, list):
        problems.append(
            "[tool.dolmen.check] modules must be a list of tables ([[tool.dolmen.check.modules]]"
            f" entries), got {value!r}"
        )
        return []
    lines = _name_lines(pyproject)
    entries = []
    for index, entry in enumerate(value):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"pyproject.toml:{lines.get(name, 1) if isinstance(name, str) else 1}"
        parsed = module_entry(entry, index, where, problems)
        if parsed is not None:
            entries.append(parsed)
    return entries


def _missing_roots(root: str, settings: CheckSettings) -> list[str]:
    return [
        f"[tool.dolmen.check] roots names {name!r}, which is not a folder in {root}"
        for name in settings.roots
        if not os.path.isdir(os.path.join(root, name))
    ]


def _name_lines(pyproject: str) -> dict[str, int]:
    """The line of each ``name = "..."`` in pyproject.toml, to point at a module's entry."""
    found: dict[str, int] = {}
    with open(pyproject, encoding="utf-8") as file:
        text = file.read()
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"""\s*name\s*=\s*["']([^"']+)["']""", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def _modules(
    root: str,
    pyproject: str,
    settings: CheckSettings,
    entries: Entries,
    listing: tuple[list[tuple[str, str]], list[tuple[int, int]]],
    cache_dir: str | None,
) -> tuple[ModuleSpec, ...]:
    """The modules: pyproject.toml's entries, or the ``Module(...)`` declarations in the code."""
    files = listing[0]
    declared = [spec for spec, _ in entries]
    # With entries in pyproject.toml, only declaration files are read (a warm check of a
    # large tree reads no file); without, every file may declare a module, and what each
    # declares is cached.
    discovered = _discovered(root, listing, bool(declared), cache_dir)
    if declared and discovered:
        raise CheckConfigError(
            [
                "modules are declared both in pyproject.toml and with Module(...) in "
                f"{discovered[0].declared_at}; keep one source of truth (the Module declarations)"
            ],
            _shown(pyproject),
        )
    modules = tuple(declared or discovered)
    if not modules:
        raise CheckConfigError(
            [
                "no modules to check: pyproject.toml has no [[tool.dolmen.check.modules]] "
                f"entries and none of the {len(files)} Python files under the roots "
                f"({', '.join(settings.roots)}) declares a Module(...) imported from dolmen; "
                "declare the modules in one of these two places (see docs/check.md)"
            ],
            _shown(pyproject),
        )
    public = {spec.name: spec.public for spec, given in entries if given}
    problems = _validate(modules, settings, {dotted for _, dotted in files}, public)
    if problems:
        raise CheckConfigError(problems, _shown(pyproject))
    return modules


MODULES_FILE = "check-modules.marshal"


def _discovered(
    root: str,
    listing: tuple[list[tuple[str, str]], list[tuple[int, int]]],
    only_declaration_files: bool,
    cache_dir: str | None,
) -> list[ModuleSpec]:
    """The declarations in the code, files unchanged since the last run not read again."""
    from dolmen.check._discovery import Found, declared_in_code

    file = os.path.join(cache_dir, MODULES_FILE) if cache_dir is not None else None
    known: Found = {}
    if file is not None and os.path.isfile(file):
        try:
            with open(file, "rb") as opened:
                version, known = marshal.loads(opened.read())
            if version != CACHE_VERSION:
                known = {}
        except (EOFError, ValueError, TypeError) as error:
            warn_discarded(file, error)
            known = {}
    before = dict(known)
    files, stats = listing
    found = list(declared_in_code(root, files, stats, only_declaration_files=only_declaration_files,
                                  known=known))  # fmt: skip
    if file is not None and known != before:
        from dolmen.check._cache import write_atomically

        listed = {relative for relative, _ in files}
        kept = {path: entry for path, entry in known.items() if path in listed}
        write_atomically(file, marshal.dumps((CACHE_VERSION, kept)))
    return found


def _validate(
    modules: tuple[ModuleSpec, ...],
    settings: CheckSettings,
    dotted: set[str],
    public: dict[str, tuple[str, ...]],
) -> list[str]:
    problems = []
    names = [m.name for m in modules]
    known = set(names)
    for name in sorted({n for n in names if names.count(n) > 1}):
        places = ", ".join(m.declared_at for m in modules if m.name == name)
        problems.append(f"module {name!r} is declared more than once ({places})")
    by_package: dict[str, list[ModuleSpec]] = {}
    for module in modules:
        by_package.setdefault(module.package, []).append(module)
    for package, same in sorted(by_package.items()):
        if len(same) > 1 and len({m.name for m in same}) > 1:
            listed = " and ".join(f"{m.name!r} ({m.declared_at})" for m in same)
            problems.append(
                f"modules {listed} are all on package {package!r}, so no import can cross "
                "from one to another: give each module a package of its own (a folder, or "
                "package= in its declaration)"
            )
    existing = with_parents(dotted)
    for module in modules:
        if module.package not in existing:
            problems.append(
                f"module {module.name!r} ({module.declared_at}) is on package "
                f"{module.package!r}, which has no Python file under the roots "
                f"({', '.join(settings.roots)}); fix its package or the roots"
            )
        else:
            for part in public.get(module.name, ()):
                if part not in ("*", "__init__") and f"{module.package}.{part}" not in existing:
                    problems.append(
                        f"module {module.name!r} ({module.declared_at}) names public part "
                        f"{part!r}, but {module.package}.{part} does not exist"
                    )
        for other in (*module.depends_on, *module.listens_to):
            if other not in known:
                problems.append(
                    f"module {module.name!r} ({module.declared_at}) names {other!r}, which is "
                    f"not a module (known: {', '.join(sorted(known)) or 'none'})"
                )
    for group in settings.module_layers:
        for name in group:
            if name not in known:
                problems.append(f"module-layers names {name!r}, which is not a module")
    return problems
