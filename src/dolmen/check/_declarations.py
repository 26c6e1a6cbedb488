"""The ``Module(...)`` calls of one file, read with ``ast`` (nothing is imported).

Loaded only when a file may declare a module: a run after an edit elsewhere needs no ``ast``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from dolmen.check._model import ModuleSpec
from dolmen.check.exceptions import CheckConfigError

_DOLMEN_MODULES = ("dolmen", "dolmen.modules")


def declarations_in(data: bytes, relative: str, dotted: str) -> Iterator[ModuleSpec]:
    """The ``Module(...)`` calls of one file (``relative``, of package ``dotted``), as specs."""
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
