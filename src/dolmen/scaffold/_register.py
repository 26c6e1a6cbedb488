"""Add a module to the app's list of modules, editing the composition root's source safely.

The edit is made only where the file says plainly where modules go: one ``App(...)`` call
whose ``modules`` is a list written out (``modules=[notes, billing]``). Anything else (a list
built elsewhere, two apps) is left alone, and the error names the two lines to add by hand.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from dolmen.scaffold.exceptions import RegistrationError


@dataclass(frozen=True)
class Registration:
    """What registering module ``name`` adds to the app's file."""

    name: str
    import_line: str

    def by_hand(self, app_file: Path, reason: str) -> RegistrationError:
        """The error that tells the user to add the module themselves."""
        return RegistrationError(
            f"{reason} in {app_file}, so module {self.name!r} was written but not added to "
            f"the app; add it yourself: the import\n    {self.import_line}\n"
            f"and {self.name!r} in the App's list of modules (modules=[..., {self.name}])"
        )


def registration(name: str, module_package: str) -> Registration:
    """How module ``name``, in the package ``module_package``, is imported by the app."""
    return Registration(name, f"from {module_package}.module import module as {name}")


def bound_names(source: str) -> set[str]:
    """The names the app's file binds at its top level (imports, functions, assignments)."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).partition(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def register(source: str, app_file: Path, added: Registration) -> str:
    """``source`` with ``added`` imported and listed in the ``App``'s modules.

    Raises :class:`RegistrationError`, saying what to add by hand, when the file does not show
    plainly where modules go.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise added.by_hand(app_file, f"a syntax error (line {error.lineno})") from None
    lists = [_modules_list(node) for node in _app_calls(tree)]
    found = [node for node in lists if node is not None]
    if len(lists) != 1 or len(found) != 1:
        reason = (
            "no App(...) call"
            if not lists
            else "several App(...) calls"
            if len(lists) > 1
            else "no modules=[...] list written out in the App(...) call"
        )
        raise added.by_hand(app_file, reason)
    lines = source.splitlines(keepends=True)
    listed = _add_to_list(lines, found[0], added.name)
    edited = _add_import(listed, ast.parse(listed), added.import_line)
    _verify(edited, app_file, added)
    return edited


def _app_calls(tree: ast.AST) -> list[ast.Call]:
    """The ``App(...)`` and ``dolmen.App(...)`` calls of the file."""
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "App")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "App")
        )
    ]


def _modules_list(call: ast.Call) -> ast.List | None:
    values = [k.value for k in call.keywords if k.arg == "modules"] or call.args[1:2]
    return values[0] if values and isinstance(values[0], ast.List) else None


def _offset(lines: list[str], line: int, column: int) -> int:
    """The index in the joined text of ``column`` (UTF-8 bytes, as ast counts) on ``line``."""
    text = lines[line - 1].encode("utf-8")[:column].decode("utf-8")
    return sum(len(each) for each in lines[: line - 1]) + len(text)


def _add_to_list(lines: list[str], node: ast.List, name: str) -> str:
    text = "".join(lines)
    assert node.end_lineno is not None  # set by ast.parse
    assert node.end_col_offset is not None
    closing = _offset(lines, node.end_lineno, node.end_col_offset) - 1  # the "]"
    if not node.elts:
        return f"{text[:closing]}{name}{text[closing:]}"
    last = node.elts[-1]
    assert last.end_lineno is not None  # set by ast.parse
    assert last.end_col_offset is not None
    after_last = _offset(lines, last.end_lineno, last.end_col_offset)
    if last.end_lineno == node.end_lineno:  # "[a, b]" or "[\n    a, b]"
        return f"{text[:after_last]}, {name}{text[after_last:]}"
    # One element per line, the "]" on a line of its own: a new line like the last one's.
    first_line = lines[last.lineno - 1]
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    between = text[after_last:closing]
    comma = between.find(",")
    if comma == -1 or "#" in between[:comma]:
        return f"{text[:after_last]},\n{indent}{name},{text[after_last:]}"
    end_of_line = text.find("\n", after_last + comma)
    return f"{text[: end_of_line + 1]}{indent}{name},\n{text[end_of_line + 1 :]}"


def _add_import(text: str, tree: ast.Module, import_line: str) -> str:
    """Insert ``import_line`` among the module-level ``from ... import`` lines, sorted."""
    lines = text.splitlines(keepends=True)
    new_module = import_line.split()[1]
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 0]
    first_party = new_module.partition(".")[0]
    siblings = [n for n in imports if (n.module or "").partition(".")[0] == first_party]
    group = siblings or imports
    if not group:
        return import_line + "\n" + text
    for node in group:
        if (node.module or "").lower() > new_module.lower():
            before, after = lines[: node.lineno - 1], lines[node.lineno - 1 :]
            return "".join([*before, import_line + "\n", *after])
    last = group[-1]
    assert last.end_lineno is not None
    return "".join([*lines[: last.end_lineno], import_line + "\n", *lines[last.end_lineno :]])


def _verify(text: str, app_file: Path, added: Registration) -> None:
    """The edited file parses, imports the module and lists it in the App's modules."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        raise added.by_hand(app_file, "an edit that would not parse") from None
    lists = [_modules_list(node) for node in _app_calls(tree)]
    listed = any(isinstance(e, ast.Name) and e.id == added.name for n in lists if n for e in n.elts)
    if not listed or added.import_line not in text.splitlines():
        raise added.by_hand(app_file, "an edit that did not take")
