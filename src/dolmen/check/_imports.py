"""Find the imports of a Python file, fast, exactly as Python reads them, any Python version.

Most files are read by a line scanner: regular expressions for ``import a.b as c, d``,
``from . import x``, multi-line ``from ..pkg import (a, b)``, imports inside functions and
``if TYPE_CHECKING:`` blocks. It never parses the whole file, so code written for a newer
Python (PEP 695 generics under 3.11) is read all the same.

The line scanner only reads what it can be sure of. A file with anything else (an import
after ``;`` or after a compound header's ``:``, a backslash before an import, a line that
may lie inside a triple-quoted string, a form feed, ``import_module``/``__import__``, an
unusual ``TYPE_CHECKING`` test) is read token by token instead (:mod:`._import_tokens`),
which knows where strings, comments and statements are. Both agree with :mod:`ast`
(tests/unit/check/test_scanner_agrees_with_ast.py). A file that cannot be read is reported
(:class:`UnreadableFile`, or its kinds :class:`BinaryFile` and :class:`UndecodableFile`),
never silently dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

_TRIPLE = re.compile(r'"""|\'\'\'')
_TYPE_CHECKING = re.compile(
    r"^([ \t]*)if[ \t]+(?:typing\.)?TYPE_CHECKING[ \t]*:[ \t]*(?:#[^\n]*)?$", re.M
)
_ANY_TYPE_CHECKING_TEST = re.compile(r"\b(?:el)?if\b[^\n]*TYPE_CHECKING")
_FROM = re.compile(r"from\s+(?P<module>\.*[\w.]*)\s+import\s+(?P<names>.+)", re.S)
_IMPORT = re.compile(r"import\s+(?P<names>.+)", re.S)
_COMMENT = re.compile(r"#[^\n]*")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.M)
_BOM = "\ufeff"


class RawImport(NamedTuple):
    """One imported name as written: ``module`` may be relative (``..pkg``).

    For ``from m import n``, ``module`` is ``m`` and ``name`` is ``n`` (resolution
    decides whether ``m.n`` is a module); for ``import m``, ``name`` is empty.
    ``line`` and ``col`` locate the statement (for a dynamic import, the call),
    ``col`` counted in characters from 0.
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


class BinaryFile(UnreadableFile):
    """The file holds NUL bytes: binary content, which Python refuses as source."""

    def __init__(self, line: int) -> None:
        super().__init__(line, "binary content (a NUL byte), not Python source")


class UndecodableFile(UnreadableFile):
    """The file's bytes are not text in its encoding (UTF-8 unless it declares another)."""


def scan_bytes(data: bytes) -> list[RawImport]:
    """Every import in a file's bytes, decoded as Python decodes source (BOM, PEP 263).

    Raises BinaryFile for NUL bytes, UndecodableFile for bytes that are not text in the
    file's encoding, UnreadableFile for a file that cannot be read token by token.
    """
    nul = data.find(b"\0")
    if nul >= 0:
        raise BinaryFile(_line_of(data, nul))
    encoding = _encoding(data)
    try:
        source = data.decode(encoding)
    except UnicodeDecodeError as error:
        where = _line_of(data, error.start)
        raise UndecodableFile(where, f"not valid {encoding} text ({error.reason})") from None
    except LookupError:
        raise UndecodableFile(1, f"unknown encoding {encoding!r}") from None
    return scan(source)


def _encoding(data: bytes) -> str:
    bom = data.startswith(b"\xef\xbb\xbf")
    first_two = data[: data.find(b"\n", data.find(b"\n") + 1) + 1 or len(data)]
    if b"coding" not in first_two or not _CODING.search(first_two.replace(b"\r", b"\n")):
        return "utf-8-sig" if bom else "utf-8"
    import io  # only for the few files that declare an encoding
    import tokenize

    try:
        return tokenize.detect_encoding(io.BytesIO(data).readline)[0]
    except SyntaxError as error:
        raise UndecodableFile(1, str(error)) from None


def _line_of(data: bytes, position: int) -> int:
    head = data[:position]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n") + 1


def scan(source: str) -> list[RawImport]:
    """Every import in ``source``, in order. Raises UnreadableFile (BinaryFile for NUL)."""
    if "\0" in source:
        raise BinaryFile(_line_of(source.encode(errors="replace"), source.index("\0")))
    if source.startswith(_BOM):
        source = source[1:]
    if "import" not in source:
        return []
    if "\r" in source:  # Python reads \r\n and \r as \n
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" in source or "import_module" in source or "__import__" in source:
        return _by_tokens(source)
    starts = _candidates(source)
    if starts is None:
        return _by_tokens(source)
    inside = _triple_quoted(source) if _TRIPLE.search(source) else _nowhere
    if inside is None or any(inside(start) for start in starts):
        return _by_tokens(source)
    guarded = _type_checking_lines(source, inside)
    if guarded is None:
        return _by_tokens(source)
    return _from_lines(source, starts, guarded)


def _by_tokens(source: str) -> list[RawImport]:
    from dolmen.check._import_tokens import read_tokens  # only for the files that need it

    return read_tokens(source)


def _nowhere(position: int) -> bool:
    return False


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


def _candidates(source: str) -> list[int] | None:
    """Where the lines of import statements start; None if an import may hide elsewhere.

    Finding the word ``import`` with ``str.find`` and looking back to the start of its
    line is several times faster than a multi-line regular expression over the file.
    A line that is no import statement but may hold one (after ``;`` or ``:``, or an
    unusual ``from`` clause, or after a backslash) makes the answer None.
    """
    starts: list[int] = []
    find = source.find
    position = find("import")
    while position >= 0:
        before = source[position - 1 : position]
        after = source[position + 6 : position + 7]
        if not (before.isalnum() or before == "_" or after.isalnum() or after == "_"):
            line_start = source.rfind("\n", 0, position) + 1
            if source.startswith("\\\n", line_start - 2) and line_start >= 2:
                return None  # this line continues the one before
            head = source[line_start:position].lstrip(" \t")
            if not head or _FROM_PREFIX.fullmatch(head):
                if after == "(":
                    return None  # from x import(y)
                if after in (" ", "\t", "\\") and (not starts or starts[-1] != line_start):
                    starts.append(line_start)
            elif ";" in head or ":" in head or head.startswith("from"):
                return None
        position = find("import", position + 6)
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


def _type_checking_lines(source: str, inside: Callable[[int], bool]) -> set[int] | None:
    """The lines inside ``if TYPE_CHECKING:`` blocks (not their ``else``); None if unsure.

    Unsure: a test spelled otherwise (``elif``, brackets, a body on the header's line), a
    header inside a string, or a block whose lines may continue a string or a bracket.
    """
    guarded: set[int] = set()
    if "TYPE_CHECKING" not in source:
        return guarded
    headers = list(_TYPE_CHECKING.finditer(source))
    if len(headers) != len(_ANY_TYPE_CHECKING_TEST.findall(source)):
        return None
    lines = source.split("\n")
    for match in headers:
        if inside(match.start()):
            return None
        indent = len(match.group(1).expandtabs())
        first = source.count("\n", 0, match.start()) + 1
        last = first
        for number in range(first + 1, len(lines) + 1):
            text = lines[number - 1]
            code = text.strip() and not text.lstrip().startswith("#")
            if code and len(text) - len(text.lstrip()) <= indent and not _continues(lines, number):
                break
            guarded.add(number)
            last = number
        if not _plain_block("\n".join(lines[first:last])):
            return None
    return guarded


def _plain_block(text: str) -> bool:
    """Whether the line after a block's ``text`` surely starts a statement.

    So it does if no line continues with a backslash or a triple-quoted string, and every
    bracket opened in the block closes in it.
    """
    if "\\\n" in text or text.endswith("\\") or _TRIPLE.search(text):
        return False
    opened = text.count("(") + text.count("[") + text.count("{")
    return opened == text.count(")") + text.count("]") + text.count("}")


def _continues(lines: list[str], number: int) -> bool:
    """Whether line ``number`` closes a bracket opened on an earlier guarded line."""
    return lines[number - 1].lstrip().startswith(")")


def _triple_quoted(source: str) -> Callable[[int], bool] | None:
    """Whether a position lies inside a triple-quoted string; None if that is unsure.

    Unsure: a triple quote that may itself sit in a comment or another string (text with a
    quote or ``#`` before it on its line, a backslash before it or its line).
    """
    openings: list[int] = []
    closings: list[int] = []
    position = 0
    while True:
        opening = _TRIPLE.search(source, position)
        if opening is None:
            break
        start = opening.start()
        line_start = source.rfind("\n", 0, start) + 1
        before = source[line_start:start]
        if "#" in before or '"' in before or "'" in before or before.endswith("\\"):
            return None
        if line_start >= 2 and source.startswith("\\\n", line_start - 2):
            return None
        closing = source.find(opening.group(), opening.end())
        openings.append(start)
        closings.append(len(source) if closing < 0 else closing)
        if closing < 0:
            break
        if source[closing - 1] == "\\":
            return None  # maybe an escaped quote
        position = closing + 3

    def inside(where: int) -> bool:
        index = bisect_right(openings, where) - 1  # regions are sorted and disjoint
        return index >= 0 and where <= closings[index]

    return inside
