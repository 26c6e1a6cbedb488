"""Read a file's imports with :mod:`ast`: the reference the import scanner is compared with.

Every ``import``/``from`` statement, and calls of ``import_module``,
``importlib.import_module`` and ``__import__`` with a literal string as first argument; an
import is ``type_checking`` when it lies in the body (not the ``else``) of an
``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``. Used by the generative test and by
``bench/scanner_vs_ast.py`` (which runs it on whole packages), so it imports nothing else.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize

from dolmen.check._imports import scan_bytes

Found = tuple[str, str, int, int, bool, bool]

_LINE_END = re.compile(r"\r\n|\r|\n")
_LITERAL_NAME = re.compile(r"[\w.]+")


def reference(data: bytes) -> list[Found]:
    """The imports of a file's bytes as :mod:`ast` reads them, sorted."""
    tree = ast.parse(data)
    encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    lines = [line.encode() for line in _LINE_END.split(data.decode(encoding))]
    found: list[Found] = []

    def column(node: ast.expr | ast.stmt) -> int:  # ast counts UTF-8 bytes, the scanner characters
        return len(lines[node.lineno - 1][: node.col_offset].decode())

    def visit(node: ast.AST, guarded: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, "", node.lineno, column(node), guarded, False))
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                found.append((module, alias.name, node.lineno, column(node), guarded, False))
        elif isinstance(node, ast.Call) and (name := _dynamic_import(node)):
            found.append((name, "", node.lineno, column(node), guarded, True))
        for field, value in ast.iter_fields(node):
            inner = guarded or (
                isinstance(node, ast.If) and field == "body" and _is_type_checking(node.test)
            )
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.AST):
                    visit(child, inner)

    visit(tree, False)
    return sorted(found)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return (
        isinstance(test, ast.Attribute)
        and test.attr == "TYPE_CHECKING"
        and isinstance(test.value, ast.Name)
        and test.value.id == "typing"
    )


def _dynamic_import(call: ast.Call) -> str:
    func = call.func
    bare = isinstance(func, ast.Name) and func.id in ("import_module", "__import__")
    qualified = (
        isinstance(func, ast.Attribute)
        and func.attr == "import_module"
        and isinstance(func.value, ast.Name)
        and func.value.id == "importlib"
    )
    if not (bare or qualified) or not call.args:
        return ""
    first = call.args[0]
    literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
    return first.value if literal and _LITERAL_NAME.fullmatch(first.value) else ""  # type: ignore[attr-defined]


def scanned(data: bytes) -> list[Found]:
    """What the scanner finds in a file's bytes, sorted."""
    return sorted(tuple(i) for i in scan_bytes(data))  # type: ignore[misc]
