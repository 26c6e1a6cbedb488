"""Find the imports of a Python file, fast, without depending on its Python version.

The line scanner reads import statements with regular expressions: ``import a.b as c, d``,
``from . import x``, multi-line ``from ..pkg import (a, b)``, backslash continuations, statements
after ``;``, imports inside functions, ``if TYPE_CHECKING:`` blocks, and
``importlib.import_module("literal")``. It never parses the whole file, so code written
for a newer Python (PEP 695 generics under 3.11) is read all the same.

A line that looks like an import but may sit inside a triple-quoted string is ambiguous;
for such files the scanner switches to :mod:`tokenize`, which knows where strings are.
A file that even ``tokenize`` cannot read is reported, never silently dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import NamedTuple

_TRIPLE = re.compile(r'"""|\'\'\'')
_DYNAMIC = re.compile(r"""\bimport_module\(\s*(?P<q>["'])(?P<name>[\w.]+)(?P=q)""")
_TYPE_CHECKING = re.compile(r"^([ \t]*)if[ \t]+(?:typing\.)?TYPE_CHECKING[ \t]*:", re.M)
_FROM = re.compile(r"from\s+(?P<module>\.*[\w.]*)\s+import\s+(?P<names>.+)", re.S)
_IMPORT = re.compile(r"import\s+(?P<names>.+)", re.S)
_COMMENT = re.compile(r"#[^\n]*")


class RawImport(NamedTuple):
    """One imported name as written: ``module`` may be relative (``..pkg``).

    For ``from m import n``, ``module`` is ``m`` and ``name`` is ``n`` (resolution
    decides whether ``m.n`` is a module); for ``import m``, ``name`` is empty.
    """

    module: str
    name: str
    line: int
    col: int
    type_checking: bool
    dynamic: bool = False


class UnreadableFile(ValueError):
    """The file could not be read as Python, even token by token."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def scan(source: str) -> list[RawImport]:
    """Every import in ``source``, in order. Raises UnreadableFile."""
    if "import" not in source:
        return []
    starts = _candidates(source)
    guarded = _type_checking_lines(source)
    if starts and _TRIPLE.search(source) and _any_inside_strings(source, starts):
        statements = _statements_from_tokens(source)
        imports = [imp for text, ln, col in statements for imp in _parse(text, ln, col, guarded)]
    else:
        imports = _from_lines(source, starts, guarded)
    imports.extend(_dynamic(source, guarded))
    return imports


_SIMPLE = re.compile(
    r"([ \t]*)(?:from[ \t]+(\.*[\w.]*)[ \t]+)?import[ \t]+"
    r"(\*|[\w.]+(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[\w.]+(?:[ \t]+as[ \t]+\w+)?)*)"
    r"[ \t]*(?:#[^\n]*)?(?=\n|\Z)"
)
"""A whole one-line import statement, most of them: matched in one call."""


def _from_lines(source: str, starts: list[int], guarded: set[int]) -> list[RawImport]:
    """The imports at each candidate line start.

    One regular expression reads a plain line; the statement reader takes the rest
    (parentheses, backslashes, ``;``).
    """
    imports: list[RawImport] = []
    line, last = 1, 0
    simple = _SIMPLE.match
    for start in starts:
        line += source.count("\n", last, start)
        last = start
        match = simple(source, start)
        if match is None:
            for text, ln, col in _statements_at(source, start):
                imports += _parse(text, ln, col, guarded)
            continue
        indent, module, names = match.groups()
        col, type_checking = len(indent), line in guarded
        if module is None:
            imports += [
                RawImport(part.split()[0], "", line, col, type_checking)
                for part in names.split(",")
            ]
        else:
            imports += [
                RawImport(module, part.split()[0], line, col, type_checking)
                for part in names.split(",")
            ]
    return imports


_AFTER_SEMICOLON = re.compile(r";[ \t]*(?=(?:from|import)[ \t])")


_INDENT = re.compile(r"[ \t]*")
_FROM_PREFIX = re.compile(r"from[ \t]+[.\w]+[ \t]+")


def _candidates(source: str) -> list[int]:
    """Where lines that look like import statements start.

    Finding the word ``import`` with ``str.find`` and looking back to the start of its
    line is several times faster than a multi-line regular expression over the file.
    """
    starts: list[int] = []
    position = source.find("import")
    while position >= 0:
        after = source[position + 6 : position + 7]
        line_start = source.rfind("\n", 0, position) + 1
        if after in (" ", "\t", "\\") and (not starts or starts[-1] != line_start):
            head = source[line_start:position].lstrip(" \t")
            if not head or _FROM_PREFIX.fullmatch(head):
                starts.append(line_start)
        position = source.find("import", position + 6)
    return starts


def _statements_at(source: str, start: int) -> list[tuple[str, int, int]]:
    """The import statement at ``start``, and those that follow it after ``;``."""
    statements = []
    while True:
        text, line, col, end = _statement_at(source, start)
        statements.append((text, line, col))
        follow = _AFTER_SEMICOLON.match(source, end)
        if follow is None:
            return statements
        start = follow.end()


def _statement_at(source: str, start: int) -> tuple[str, int, int, int]:
    """The import statement beginning at ``start``: through parentheses and backslashes."""
    line = source.count("\n", 0, start) + 1
    text_start = _INDENT.match(source, start).end()  # type: ignore[union-attr]  # always matches
    col = text_start - (source.rfind("\n", 0, text_start) + 1)
    line_end = source.find("\n", text_start)
    line_end = len(source) if line_end < 0 else line_end
    simple = source[text_start:line_end]
    if "(" not in simple and "\\" not in simple:  # the common case: one plain line
        cut = min((i for i in (simple.find(";"), simple.find("#")) if i >= 0), default=len(simple))
        return simple[:cut], line, col, text_start + cut
    opening = simple.find("(")
    if opening >= 0 and "\\" not in simple and "#" not in simple[:opening]:
        closing = source.find(")", text_start + opening)
        if closing >= 0 and "#" not in source[text_start + opening : closing]:
            return source[text_start : closing + 1], line, col, closing + 1
    end = text_start
    depth = 0
    while end < len(source):
        char = source[end]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "#":
            newline = source.find("\n", end)
            end = len(source) if newline < 0 else newline
            continue
        elif char == "\\" and source.startswith("\n", end + 1):
            end += 2
            continue
        elif char in "\n;" and depth <= 0:
            break
        end += 1
    return source[text_start:end], line, col, end


def _statements_from_tokens(source: str) -> list[tuple[str, int, int]]:
    """Import statements found by tokenize (strings and comments are skipped for sure)."""
    import io  # only for the few files that need it
    import tokenize

    offsets = [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    statements: list[tuple[str, int, int]] = []
    begin: tuple[int, int] | None = None
    end = (0, 0)
    at_start = True

    def close() -> None:
        if begin is not None:
            text = source[offsets[begin[0] - 1] + begin[1] : offsets[end[0] - 1] + end[1]]
            statements.append((text, begin[0], begin[1]))

    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER) or token.string == ";":
                close()
                begin, at_start = None, True
            elif token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            elif begin is not None:
                end = token.end
            elif at_start and token.type == tokenize.NAME and token.string in ("import", "from"):
                begin, end = token.start, token.end
            else:
                at_start = False
    except (tokenize.TokenError, IndentationError, SyntaxError) as error:
        where = error.args[1] if len(error.args) > 1 else None
        number = int(where[0]) if isinstance(where, tuple) and where else 0
        raise UnreadableFile(number, str(error.args[0])) from None
    return statements


def _parse(text: str, line: int, col: int, guarded: set[int]) -> list[RawImport]:
    if "#" in text:
        text = _COMMENT.sub("", text)
    if "\\" in text:
        text = text.replace("\\\n", " ")
    type_checking = line in guarded
    if text.startswith("from"):
        match = _FROM.match(text)
        if match is None:
            return []
        names = match.group("names").strip().strip("()")
        module = match.group("module")
        return [RawImport(module, name, line, col, type_checking) for name in _names(names)]
    match = _IMPORT.match(text)
    if match is None:
        return []
    return [RawImport(name, "", line, col, type_checking) for name in _names(match.group("names"))]


def _names(text: str) -> list[str]:
    """``a, b.c as d, *`` -> ``["a", "b.c", "*"]``; anything else is not a name list."""
    names = []
    dotted = _DOTTED.fullmatch
    for part in text.split(","):
        words = part.split()
        if not words:
            continue
        name = words[0]
        plain = len(words) == 1 or (len(words) == 3 and words[1] == "as")
        if plain and (name == "*" or dotted(name)):
            names.append(name)
    return names


_DOTTED = re.compile(r"[^\W\d]\w*(?:\.[^\W\d]\w*)*")
"""A dotted name of identifiers (``str.isidentifier`` per part, in one call)."""


def _dynamic(source: str, guarded: set[int]) -> list[RawImport]:
    found: list[RawImport] = []
    if "import_module" not in source:
        return found
    for match in _DYNAMIC.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        col = match.start() - (source.rfind("\n", 0, match.start()) + 1)
        found.append(RawImport(match.group("name"), "", line, col, line in guarded, True))
    return found


def _type_checking_lines(source: str) -> set[int]:
    """The lines inside ``if TYPE_CHECKING:`` blocks (not their ``else``)."""
    guarded: set[int] = set()
    if "TYPE_CHECKING" not in source:
        return guarded
    lines = source.splitlines()
    for match in _TYPE_CHECKING.finditer(source):
        indent = len(match.group(1).expandtabs())
        first = source.count("\n", 0, match.start()) + 1
        for number in range(first + 1, len(lines) + 1):
            text = lines[number - 1]
            code = text.strip() and not text.lstrip().startswith("#")
            if code and len(text) - len(text.lstrip()) <= indent and not _continues(lines, number):
                break
            guarded.add(number)
    return guarded


def _continues(lines: list[str], number: int) -> bool:
    """Whether line ``number`` closes a bracket opened on an earlier guarded line."""
    return lines[number - 1].lstrip().startswith(")")


def _any_inside_strings(source: str, starts: list[int]) -> bool:
    """Whether a candidate may lie inside a triple-quoted string (decided conservatively)."""
    openings: list[int] = []
    closings: list[int] = []
    position = 0
    last = starts[-1]
    while True:
        opening = _TRIPLE.search(source, position, last + 1)
        if opening is None:
            break
        closing = source.find(opening.group(), opening.end())
        openings.append(opening.start())
        closings.append(len(source) if closing < 0 else closing)
        if closing < 0:
            break
        position = closing + 3
    for start in starts:  # regions are sorted and disjoint: look up the one before each start
        index = bisect_right(openings, start) - 1
        if index >= 0 and start <= closings[index]:
            return True
    return False
