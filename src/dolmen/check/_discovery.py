"""Find a Dolmen app's modules: its ``Module(...)`` declarations, read statically.

A declaration is a call of Dolmen's ``Module`` (``from dolmen import Module``, ``from
dolmen.modules import Module``, any alias of those, or ``dolmen.Module``) in any file under
the roots. Nothing is imported: the call's arguments must be literals. The module's package
is the one given with ``package=``, else the package of the declaring file, as at run time.
"""

from __future__ import annotations

import ast
import os
import re
import time
from collections.abc import Iterator
from typing import Any

from dolmen.check._files import RACY_NS
from dolmen.check._model import ModuleSpec
from dolmen.check.exceptions import CheckConfigError

_DECLARES = re.compile(rb"\bModule\b")
_DOLMEN_MODULES = ("dolmen", "dolmen.modules")


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
        if only_declaration_files and os.path.basename(relative) != "module.py":
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
    try:
        tree = ast.parse(data, filename=relative)
    except (SyntaxError, ValueError) as error:
        line = getattr(error, "lineno", None) or 1
        raise CheckConfigError(
            [
                f"{relative}:{line}: cannot read this file as Python ({error}), and it may "
                "declare a module with Module(...); fix it so the modules can be found"
            ]
        ) from None
    names, modules = _bindings(tree)
    if not names and not modules:
        return
    package = dotted.rpartition(".")[0] or dotted  # as Module() computes it from __name__
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_module_call(node.func, names, modules):
            yield _spec_from_call(node, package, f"{relative}:{node.lineno}")


def _bindings(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names bound to Dolmen's ``Module`` class, and names bound to its packages."""
    names: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in _DOLMEN_MODULES:
            names.update(a.asname or a.name for a in node.names if a.name == "Module")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in _DOLMEN_MODULES:
                    modules.add(alias.asname or alias.name)
    return names, modules


def _is_module_call(func: ast.expr, names: set[str], modules: set[str]) -> bool:
    if isinstance(func, ast.Name):
        return func.id in names
    if isinstance(func, ast.Attribute) and func.attr == "Module":
        return _dotted(func.value) in modules
    return False


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _spec_from_call(call: ast.Call, package: str, where: str) -> ModuleSpec:
    def literal(node: ast.AST, what: str, kind: type) -> Any:
        try:
            value = ast.literal_eval(node)
        except ValueError:
            value = None
        if (
            kind is tuple
            and isinstance(value, list | tuple)
            and all(isinstance(item, str) for item in value)
        ):
            return tuple(value)
        if isinstance(value, kind) and kind is not tuple:
            return value
        shape = "a list of literal strings" if kind is tuple else "a literal string"
        raise CheckConfigError([f"{where}: {what} must be {shape} for dolmen check to read it"])

    name_node = (
        call.args[0]
        if call.args
        else next((k.value for k in call.keywords if k.arg == "name"), None)
    )
    if name_node is None:
        raise CheckConfigError([f"{where}: Module(...) needs its name as first argument"])
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    return ModuleSpec(
        name=literal(name_node, "the module name", str),
        package=literal(keywords["package"], "package=", str) if "package" in keywords else package,
        depends_on=literal(keywords["depends_on"], "depends_on", tuple)
        if "depends_on" in keywords
        else (),
        listens_to=literal(keywords["listens_to"], "listens_to", tuple)
        if "listens_to" in keywords
        else (),
        declared_at=where,
    )
