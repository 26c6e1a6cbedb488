"""Read what to check: ``[tool.dolmen.check]`` in pyproject.toml, and the modules.

Modules come from one place per project: the ``Module(...)`` declarations of a
Dolmen app (read statically, nothing is imported), or, for any other codebase,
``[[tool.dolmen.check.modules]]`` entries.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dolmen._pyproject import tool_dolmen
from dolmen.check._files import Folder, make_cache_dir, python_files
from dolmen.check._model import OUTSIDE_POLICIES, RULES, CheckSettings, ModuleSpec
from dolmen.check.exceptions import CheckConfigError

if TYPE_CHECKING:
    import ast

_DECLARES_MODULE = re.compile(r"\bModule\(")


@dataclass(frozen=True)
class Project:
    """A codebase to check: its folder, settings, modules and Python files.

    ``app`` is ``[tool.dolmen] app`` (``package.module:attribute``) when the project names
    its Dolmen app, and ``app_dir`` the folder it is imported from (``[tool.dolmen]
    app-dir``, relative to the root): the ``event-schema`` rule imports it.
    """

    root: Path
    settings: CheckSettings
    modules: tuple[ModuleSpec, ...]
    app: str | None = None
    app_dir: str = "."

    def module_of(self, dotted: str) -> ModuleSpec | None:
        """The module whose package contains ``dotted``, the deepest one if nested."""
        by_package = self._by_package
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):
            module = by_package.get(".".join(parts[:end]))
            if module is not None:
                return module
        return None

    @functools.cached_property
    def _by_package(self) -> dict[str, ModuleSpec]:
        return {module.package: module for module in self.modules}


def load_project(
    root: Path, folders: list[Folder] | None = None
) -> tuple[Project, list[tuple[str, str]]]:
    """Read ``root/pyproject.toml``, list the Python files and find the modules.

    Returns the project and its files (path relative to the root, dotted name), and adds
    the folders listed to ``folders`` (see :func:`python_files`); raises CheckConfigError.
    Folders are remembered for the cache, so the cache folder is made first: making it
    later would change the time of the folder holding it.
    """
    root = root.resolve()
    tool = _tool_dolmen(root / "pyproject.toml")
    table = _check_table(tool)
    settings = _settings(table)
    if folders is not None:
        make_cache_dir(root / settings.cache_dir)
    lines = _name_lines(root / "pyproject.toml")
    declared = [_module_from_table(entry, lines) for entry in table.get("modules", [])]
    files = python_files(str(root), settings.roots, settings.exclude, folders)
    discovered = list(_declared_in_code(root, files))
    if declared and discovered:
        raise CheckConfigError(
            [
                "modules are declared both in pyproject.toml and with Module(...) in "
                f"{discovered[0].declared_at}; keep one source of truth (the Module declarations)"
            ]
        )
    modules = tuple(declared or discovered)
    _validate(modules, settings)
    app, app_dir = _app(tool)
    return Project(root, settings, modules, app, app_dir), files


def _tool_dolmen(pyproject: Path) -> dict[str, Any]:
    try:
        return tool_dolmen(pyproject)
    except ValueError as error:
        raise CheckConfigError([str(error)]) from None


def _check_table(tool: dict[str, Any]) -> dict[str, Any]:
    table = tool.get("check", {})
    if not isinstance(table, dict):
        raise CheckConfigError(["[tool.dolmen.check] must be a table"])
    return table


def _app(tool: dict[str, Any]) -> tuple[str | None, str]:
    """``[tool.dolmen] app`` and ``app-dir``: the app the ``event-schema`` rule imports."""
    app, app_dir = tool.get("app"), tool.get("app-dir", ".")
    if app is not None and (not isinstance(app, str) or not app):
        raise CheckConfigError(
            [f"[tool.dolmen] app must be a string like 'shop.app:app', got {app!r}"]
        )
    if not isinstance(app_dir, str):
        raise CheckConfigError([f"[tool.dolmen] app-dir must be a folder name, got {app_dir!r}"])
    return app, app_dir


_KNOWN_KEYS = {
    "roots", "exclude", "layers", "module-layers", "forbidden", "type-checking-imports",
    "unused-dependencies", "outside-modules", "baseline", "cache-dir", "modules", "select",
    "ignore", "events-lock",
}  # fmt: skip


def _settings(table: dict[str, Any]) -> CheckSettings:
    problems = [
        f"unknown key {key!r} in [tool.dolmen.check] (known: {', '.join(sorted(_KNOWN_KEYS))})"
        for key in table
        if key not in _KNOWN_KEYS
    ]
    outside = table.get("outside-modules", "public")
    if outside not in OUTSIDE_POLICIES:
        problems.append(f"outside-modules must be one of {', '.join(OUTSIDE_POLICIES)}")
    for key in ("select", "ignore"):
        for rule in _as_list(table.get(key, [])):
            if rule not in RULES:
                problems.append(
                    f"{key} names rule {rule!r}, which does not exist (rules: "
                    f"{', '.join(sorted(RULES))})"
                )
    if problems:
        raise CheckConfigError(problems)
    defaults = CheckSettings()
    layers = table.get("layers")
    return CheckSettings(
        roots=tuple(table.get("roots", defaults.roots)),
        exclude=tuple(table.get("exclude", ())),
        layers=tuple(_edges(layers)) if layers is not None else defaults.layers,
        module_layers=tuple(tuple(_as_list(layer)) for layer in table.get("module-layers", ())),
        forbidden={k: tuple(v) for k, v in table.get("forbidden", defaults.forbidden).items()},
        type_checking_imports=bool(table.get("type-checking-imports", True)),
        unused_dependencies=bool(table.get("unused-dependencies", False)),
        outside_modules=outside,
        select=tuple(_as_list(table.get("select", []))),
        ignore=tuple(_as_list(table.get("ignore", []))),
        baseline=str(table.get("baseline", defaults.baseline)),
        cache_dir=str(table.get("cache-dir", defaults.cache_dir)),
        events_lock=str(table.get("events-lock", defaults.events_lock)),
    )


def _edges(layers: Any) -> Iterator[tuple[str, str]]:
    """``["web -> service -> domain", "adapters -> domain"]`` as (upper, lower) pairs."""
    for chain in _as_list(layers):
        names = [name.strip() for name in str(chain).split("->")]
        if len(names) < 2 or not all(names):
            raise CheckConfigError([f"layer chain {chain!r} must read 'upper -> lower'"])
        yield from itertools.pairwise(names)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _name_lines(pyproject: Path) -> dict[str, int]:
    """The line of each ``name = "..."`` in pyproject.toml, to point at a module's entry."""
    if not pyproject.is_file():
        return {}
    found: dict[str, int] = {}
    for number, line in enumerate(pyproject.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"""\s*name\s*=\s*["']([^"']+)["']""", line)
        if match:
            found.setdefault(match.group(1), number)
    return found


def _module_from_table(entry: dict[str, Any], lines: dict[str, int]) -> ModuleSpec:
    try:
        return ModuleSpec(
            name=str(entry["name"]),
            package=str(entry.get("package", entry["name"])),
            depends_on=tuple(entry.get("depends_on", ())),
            listens_to=tuple(entry.get("listens_to", ())),
            public=tuple(_as_list(entry.get("public", ["api"]))),
            declared_at=f"pyproject.toml:{lines.get(str(entry['name']), 1)}",
        )
    except KeyError:
        raise CheckConfigError([f"module entry {entry!r} has no name"]) from None


def _declared_in_code(root: Path, files: list[tuple[str, str]]) -> Iterator[ModuleSpec]:
    """``Module(...)`` calls in the declaration files (``module.py``) under the roots."""
    for relative, dotted in files:
        if os.path.basename(relative) != "module.py":
            continue
        text = (root / relative).read_text(encoding="utf-8", errors="replace")
        if "dolmen" not in text or not _DECLARES_MODULE.search(text):
            continue
        import ast  # only for declaration files

        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        package = dotted.rpartition(".")[0] or dotted
        for call in ast.walk(tree):
            if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "Module":
                yield _spec_from_call(call, package, f"{relative}:{call.lineno}")


def _spec_from_call(call: ast.Call, package: str, where: str) -> ModuleSpec:
    import ast

    def literal(node: ast.AST, what: str) -> Any:
        try:
            return ast.literal_eval(node)
        except ValueError:
            raise CheckConfigError(
                [f"{where}: {what} must be a literal for dolmen check"]
            ) from None

    if not call.args:
        raise CheckConfigError([f"{where}: Module(...) needs its name as first argument"])
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    return ModuleSpec(
        name=str(literal(call.args[0], "the module name")),
        package=str(literal(keywords["package"], "package=")) if "package" in keywords else package,
        depends_on=tuple(literal(keywords["depends_on"], "depends_on"))
        if "depends_on" in keywords
        else (),
        listens_to=tuple(literal(keywords["listens_to"], "listens_to"))
        if "listens_to" in keywords
        else (),
        declared_at=where,
    )


def _validate(modules: tuple[ModuleSpec, ...], settings: CheckSettings) -> None:
    problems = []
    names = [m.name for m in modules]
    known = set(names)
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"module {name!r} is declared more than once")
    for module in modules:
        for other in (*module.depends_on, *module.listens_to):
            if other not in known:
                problems.append(
                    f"module {module.name!r} ({module.declared_at}) names {other!r}, which is "
                    f"not a module (known: {', '.join(sorted(known)) or 'none'})"
                )
    layer_names = {name for edge in settings.layers for name in edge}
    for layer in settings.forbidden:
        if layer not in layer_names:
            problems.append(
                f"forbidden names layer {layer!r}, which no layer chain declares "
                f"(layers: {', '.join(sorted(layer_names))})"
            )
    for group in settings.module_layers:
        for name in group:
            if name not in known:
                problems.append(f"module-layers names {name!r}, which is not a module")
    if problems:
        raise CheckConfigError(problems)
