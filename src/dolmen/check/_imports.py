"""Find the imports of a Python file, fast, exactly as Python reads them, any Python version.

Most files are read by a line scanner: regular expressions for ``import a.b as c, d``,
``from . import x``, multi-line ``from ..pkg import (a, b)``, imports inside functions,
``if TYPE_CHECKING:`` blocks and ``import_module("a")`` calls. It knows where triple-quoted
strings lie, and reads the start of a line up to a word to tell code from a comment or a
one-line string. It never parses the whole file, so code written for a newer Python (PEP 695
generics under 3.11) is read all the same.

The line scanner only reads what it can be sure of. A file with anything else (an import
after ``;`` or after a compound header's ``:``, a backslash before an import, a form feed,
a triple quote that may sit in another string, a dynamic import over several lines, an
unusual ``TYPE_CHECKING`` test) is read token by token instead (:mod:`._import_tokens`),
which knows where strings, comments and statements are: 8 files of 3415 in a virtualenv.
Both agree with :mod:`ast` (tests/unit/check/test_scanner_agrees_with_ast.py). A file that
cannot be read is reported (:class:`UnreadableFile`, or its kinds :class:`BinaryFile` and
:class:`UndecodableFile`), never silently dropped.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from typing import NamedTuple

_TYPE_CHECKING = re.compile(
    r"^([ \t]*)(?:el)?if[ \t]+(?:typing\.)?TYPE_CHECKING[ \t]*:[ \t]*(?:#[^\n]*)?$", re.M
)
_ANY_TYPE_CHECKING_TEST = re.compile(
    r"\b(?:el)?if[\s(\\]*(?:typing[\s\\]*\.[\s\\]*)?TYPE_CHECKING[\s)\\]*:"
)
"""Any test ``ast`` would read as ``TYPE_CHECKING`` (and the same in comments and strings)."""
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


Plain = tuple[str, str, int, int, bool, bool]
"""A :class:`RawImport` as a plain tuple (module, name, line, col, type_checking, dynamic)."""


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
    new = tuple.__new__
    return [new(RawImport, found) for found in scan_plain(_decoded(data))]


def scan_bytes_plain(data: bytes) -> list[Plain]:
    """:func:`scan_bytes` as plain tuples (what the caches keep, cheaper to build)."""
    return scan_plain(_decoded(data))


def _decoded(data: bytes) -> str:
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
    return source


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
    new = tuple.__new__
    return [new(RawImport, found) for found in scan_plain(source)]


def scan_plain(source: str) -> list[Plain]:
    """:func:`scan` as plain tuples: the fields of :class:`RawImport`, in its order."""
    if "\0" in source:
        raise BinaryFile(_line_of(source.encode(errors="replace"), source.index("\0")))
    if source.startswith(_BOM):
        source = source[1:]
    if "import" not in source:
        return []
    if "\r" in source:  # Python reads \r\n and \r as \n
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" in source:
        return _by_tokens(source)
    inside: Callable[[int], bool] | None = _nowhere
    if '"""' in source or "'''" in source:
        last = max(source.rfind("import"), source.rfind("TYPE_CHECKING"))
        inside = _triple_quoted(source, last + 1)
    if inside is None:
        return _by_tokens(source)
    guarded = _type_checking_lines(source, inside)
    if guarded is None:
        return _by_tokens(source)
    imports = _from_lines(source, inside, guarded)
    if imports is None:
        return _by_tokens(source)
    if "import_module" in source or "__import__" in source:
        dynamic = _dynamic(source, inside, guarded)
        if dynamic is None:
            return _by_tokens(source)
        imports += dynamic
    return imports


def _by_tokens(source: str) -> list[Plain]:
    from dolmen.check._import_tokens import read_tokens  # only for the files that need it

    return [tuple(found) for found in read_tokens(source)]  # type: ignore[misc]


def _nowhere(position: int) -> bool:
    return False


_SIMPLE = re.compile(
    r"([ \t]*)(?:from[ \t]+(\.*[\w.]*)[ \t]+)?import[ \t]+"
    r"(\*|[\w.]+(?:[ \t]+as[ \t]+\w+)?(?:[ \t]*,[ \t]*[\w.]+(?:[ \t]+as[ \t]+\w+)?)*)"
    r"[ \t]*(?:#[^\n]*)?(?=\n|\Z)"
)
"""A whole one-line import statement, most of them: matched in one call."""


_AFTER_SEMICOLON = re.compile(r";[ \t]*(?=(?:from|import)[ \t])")


_INDENT = re.compile(r"[ \t]*")
_FROM_PREFIX = re.compile(r"from[ \t]+[.\w]+[ \t]+")


def _from_lines(
    source: str, inside: Callable[[int], bool], guarded: set[int]
) -> list[Plain] | None:
    """The imports of the lines that start with an import; None if an import may hide elsewhere.

    Finding the word ``import`` with ``str.find`` and looking back to the start of its
    line is several times faster than a multi-line regular expression over the file. One
    regular expression reads a plain one-line statement (most of them); the statement
    reader takes the rest (parentheses, backslashes, ``;``). A line that is no plain import
    statement but may hold one (after ``;`` or ``:``, an unusual ``from`` clause, after a
    backslash) makes the answer None, unless the word is surely in a comment or a
    triple-quoted string.
    """
    imports: list[Plain] = []
    line, last, previous = 1, 0, -1
    find, simple, prefix = source.find, _SIMPLE.match, _FROM_PREFIX.fullmatch
    position = find("import")
    while position >= 0:
        before = source[position - 1 : position]
        after = source[position + 6 : position + 7]
        if before.isalnum() or before == "_" or after.isalnum() or after == "_":
            position = find("import", position + 6)
            continue
        line_start = source.rfind("\n", 0, position) + 1
        head = source[line_start:position].lstrip(" \t")
        if inside(position):
            pass
        elif line_start >= 2 and source.startswith("\\\n", line_start - 2):
            return None  # this line continues the one before
        elif not head or prefix(head):
            if after == "(":
                return None  # from x import(y)
            if after in (" ", "\t", "\\") and line_start != previous:
                previous = line_start
                line += source.count("\n", last, line_start)
                last = line_start
                match = simple(source, line_start)
                if match is None:
                    for text, number, col in _statements_at(source, line_start):
                        imports += _parse(text, number, col, guarded)
                else:
                    indent, module, names = match.groups()
                    col, type_checking = len(indent), line in guarded
                    if module is None:
                        imports += [
                            (part.split()[0], "", line, col, type_checking, False)
                            for part in names.split(",")
                        ]
                    else:
                        imports += [
                            (module, part.split()[0], line, col, type_checking, False)
                            for part in names.split(",")
                        ]
                    position = find("import", match.end())  # the rest of the line: a comment
                    continue
        elif ";" in head or ":" in head or head.startswith("from"):
            code = _code_before(source, line_start, head, inside)
            if code is None or ";" in code or ":" in code or code.startswith("from"):
                return None
        position = find("import", position + 6)
    return imports


_HEAD_TOKEN = re.compile(
    r'#|"""(?:[^\\]|\\.)*?"""'
    r"|'''(?:[^\\]|\\.)*?'''"
    r"""|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|["']"""
)
"""In the code before a word on its line: a comment, a closed one-line string, an open one."""


def _code_before(
    source: str, line_start: int, head: str, inside: Callable[[int], bool]
) -> str | None:
    """The code in ``head`` (a line up to a word) without its strings; None if unsure.

    ``""`` when the word is in a comment or a one-line string: it is no code.
    """
    if inside(line_start):
        return None  # a triple-quoted string ends on this line
    return _code_of(head)


def _code_of(head: str) -> str:
    """The code of a line's start, out of any string, without its strings.

    ``""`` when the end of ``head`` is in a comment or a one-line string.
    """
    code: list[str] = []
    position = 0
    for match in _HEAD_TOKEN.finditer(head):
        token = match.group()
        if token in ("#", "'", '"'):
            return ""  # a comment, or a string still open at the word
        code.append(head[position : match.start()])
        position = match.end()
    code.append(head[position:])
    return "".join(code) or " "


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


def _parse(text: str, line: int, col: int, guarded: set[int]) -> list[Plain]:
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
        return [(module, name, line, col, type_checking, False) for name in _names(names)]
    match = _IMPORT.match(text)
    if match is None:
        return []
    names = _names(match.group("names"))
    return [(name, "", line, col, type_checking, False) for name in names]


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

    Unsure: a test spelled otherwise (``elif``, brackets, a body on the header's line, or
    in a comment), or a block whose lines may continue a string or a bracket.
    """
    guarded: set[int] = set()
    if "TYPE_CHECKING" not in source:
        return guarded
    headers: list[re.Match[str]] = []
    tests: list[int] = []
    header_line = -1
    position = source.find("TYPE_CHECKING")
    while position >= 0:  # each mention, rather than a regular expression over the file
        line_start = source.rfind("\n", 0, position) + 1
        if line_start != header_line:
            header = _TYPE_CHECKING.match(source, line_start)
            if header is not None:
                header_line = line_start
                if not inside(line_start):
                    headers.append(header)
        test = _test_before(source, position)
        if test >= 0:
            tests.append(test)
        position = source.find("TYPE_CHECKING", position + 13)
    at_headers = {m.end(1) for m in headers}
    for where in tests:
        if where in at_headers or inside(where):
            continue
        line_start = source.rfind("\n", 0, where) + 1
        if _code_before(source, line_start, source[line_start:where], inside) != "":
            return None  # a guard spelled otherwise
    lines = source.split("\n")
    for match in headers:
        indent = len(match.group(1).expandtabs())
        first = source.count("\n", 0, match.start()) + 1
        last = first
        for number in range(first + 1, len(lines) + 1):
            text = lines[number - 1]
            code = text.strip() and not text.lstrip().startswith("#")
            if code and _width(text) <= indent and not _continues(lines, number):
                break
            guarded.add(number)
            last = number
        after_block = sum(len(line) + 1 for line in lines[:last])
        if not _plain_block("\n".join(lines[first:last])) or inside(after_block):
            return None
    return guarded


_TEST_GAP = frozenset(" \t\n\r\f\v\\(")


def _test_before(source: str, position: int) -> int:
    """Where the ``if``/``elif`` test of the ``TYPE_CHECKING`` at ``position`` starts, or -1.

    The test is :data:`_ANY_TYPE_CHECKING_TEST`; it is looked for backwards from the name
    (through blanks, brackets, backslashes and ``typing.``), then matched forwards.
    """
    start = position
    while start and (source[start - 1] in _TEST_GAP or source[start - 1].isspace()):
        start -= 1
    if source[start - 1 : start] == ".":
        start -= 1
        while start and (source[start - 1] in _TEST_GAP or source[start - 1].isspace()):
            start -= 1
        if not source.startswith("typing", start - 6):
            return -1
        start -= 6
        while start and (source[start - 1] in _TEST_GAP or source[start - 1].isspace()):
            start -= 1
    for begin in (start - 4, start - 2):  # elif, if
        if begin >= 0:
            test = _ANY_TYPE_CHECKING_TEST.match(source, begin)
            if test is not None and test.end() > position:
                return begin
    return -1


def _width(line: str) -> int:
    """The indentation of ``line`` as Python counts it (a tab to the next multiple of 8)."""
    stripped = line.lstrip()
    return (
        len(line[: len(line) - len(stripped)].expandtabs())
        if "\t" in line
        else len(line) - len(stripped)
    )


def _plain_block(text: str) -> bool:
    """Whether the line after a block's ``text`` surely starts a statement.

    So it does if no line continues with a backslash and every bracket opened in the block
    closes in it (the caller checks that the line after it is in no string).
    """
    if "\\\n" in text or text.endswith("\\"):
        return False
    opened = text.count("(") + text.count("[") + text.count("{")
    return opened == text.count(")") + text.count("]") + text.count("}")


def _continues(lines: list[str], number: int) -> bool:
    """Whether line ``number`` closes a bracket opened on an earlier guarded line."""
    return lines[number - 1].lstrip().startswith(")")


def _closing(source: str, quote: str, position: int) -> int:
    """Where the string whose content starts at ``position`` ends (-1 if it never does)."""
    closing = source.find(quote, position)
    while closing >= 0:
        escapes = closing - len(source[position:closing].rstrip("\\")) - position
        if escapes % 2 == 0:
            return closing
        closing = source.find(quote, closing + 1)  # an escaped quote
    return closing


def _triple_quoted(source: str, limit: int) -> Callable[[int], bool] | None:
    """Whether a position lies in a triple-quoted string; None if unsure before ``limit``.

    Unsure: a triple quote before ``limit`` that may itself sit in a comment or another
    string (text with a quote or ``#`` before it on its line, a backslash before it or its
    line), or a string never closed. The strings are found up to ``limit`` at once, and
    further only when a later position is asked about (most files' last import comes early:
    their docstrings below it are never looked at). A triple quote found unsure there makes
    every later position count as inside: the callers then read the file token by token.
    """
    openings: list[int] = []
    closings: list[int] = []
    find = source.find
    state = [0, find('"""'), find("'''"), False]
    """Where to look on, the next ``\"\"\"`` and ``'''`` from there (-1: none), unsure."""

    def extend(upto: int) -> bool:
        """Find the strings that open before ``upto``; False if unsure of one (or none closes)."""
        position, double, single, _ = state
        while True:
            if double >= 0 and double < position:
                double = find('"""', position)
            if single >= 0 and single < position:
                single = find("'''", position)
            if double < 0 and single < 0:
                break
            start = double if single < 0 or 0 <= double < single else single
            if start >= upto:
                break
            quote = source[start : start + 3]
            line_start = source.rfind("\n", 0, start) + 1
            code_from = closings[-1] + 3 if closings else 0  # out of every string from there
            before = source[max(line_start, code_from) : start]
            if before.endswith("\\") or (
                line_start >= 2 and source.startswith("\\\n", line_start - 2)
            ):
                state[3] = True
                return False
            if not _code_of(before):
                position = start + 3  # in a comment or a one-line string: no opening
                continue
            closing = _closing(source, quote, start + 3)
            if closing < 0:
                state[3] = True
                return False  # never closed: let tokenize say where
            openings.append(start)
            closings.append(closing)
            position = closing + 3
        state[:3] = position, double, single
        return True

    if not extend(limit):
        return None
    searched = [limit]

    def inside(where: int) -> bool:
        """Whether ``where`` lies in a triple-quoted string, from its opening quotes on."""
        if where >= searched[0]:
            if state[3] or not extend(where + 1):
                return True
            searched[0] = where + 1
        index = bisect_right(openings, where) - 1  # regions are sorted and disjoint
        return index >= 0 and where <= closings[index]

    return inside


_FIRST_STRING = re.compile(
    r"""[ \t]*\(\s*[rRuU]?(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')[ \t]*(?P<next>.?)"""
)
"""A call whose first argument starts with a one-line string (bytes and f-strings are none)."""
_LITERAL_NAME = re.compile(r"[\w.]+")
_DYNAMIC_NOT_LITERAL = re.compile(r"""[ \t]*(?:\(\s*(?:\)|(?![rRuU]?["'])[^\W\d])|[^\s(\\#])""")
"""No call, no argument, or a first argument that is no string (a name, bytes, an f-string)."""
_NEXT_CODE = re.compile(r"[ \t]*(?:#[^\n]*)?\n(?:[ \t]*(?:#[^\n]*)?\n)*[ \t]*(?P<char>.?)")
_QUALIFIER = re.compile(r"(?<![\w.])importlib[ \t]*\.[ \t]*$")


def _dynamic(source: str, inside: Callable[[int], bool], guarded: set[int]) -> list[Plain] | None:
    """The dynamic imports: calls with a literal first argument; None if unsure of one.

    ``import_module("a")``, ``importlib.import_module("a")`` and ``__import__("a")`` count.
    """
    found: list[tuple[int, Plain]] = []
    for name in ("import_module", "__import__"):
        position = source.find(name)
        while position >= 0:
            call = _dynamic_at(source, position, name, inside)
            if call is None:
                return None
            if call:
                line = source.count("\n", 0, call[0]) + 1
                col = call[0] - (source.rfind("\n", 0, call[0]) + 1)
                found.append((call[0], (call[1], "", line, col, line in guarded, True)))
            position = source.find(name, position + len(name))
    return [imp for _, imp in sorted(found)]


def _dynamic_at(
    source: str, position: int, name: str, inside: Callable[[int], bool]
) -> tuple[int, str] | tuple[()] | None:
    """Where a dynamic import at ``position`` starts and its literal; None if unsure.

    ``()`` if it is none: in a comment or a string, another object's method, no call, or a
    first argument that is no literal.
    """
    end = position + len(name)
    before = source[position - 1 : position]
    after = source[end : end + 1]
    if before.isalnum() or before == "_" or after.isalnum() or after == "_" or inside(position):
        return ()
    line_start = source.rfind("\n", 0, position) + 1
    if line_start >= 2 and source.startswith("\\\n", line_start - 2):
        return None  # this line continues the one before
    head = source[line_start:position]
    code = _code_before(source, line_start, head, inside)
    if code is None:
        return None
    if not code:
        return ()  # in a comment or a string
    start = position
    if head.rstrip(" \t").endswith("."):
        qualified = _QUALIFIER.search(head)
        if name != "import_module" or qualified is None:
            return ()  # a method of another object
        if head[: qualified.start()].rstrip(" \t").endswith("."):
            return ()  # something.importlib.import_module
        start = line_start + qualified.start()
    first = _FIRST_STRING.match(source, end)
    if first is not None:
        text, follows = first.group("string"), first.group("next")
        if follows in (",", ")"):
            if "\\" in text:
                return None
            return (start, text[1:-1]) if _LITERAL_NAME.fullmatch(text[1:-1]) else ()
        return None if follows in ("", "'", '"', "#", "\\") else ()  # else: an expression
    if _DYNAMIC_NOT_LITERAL.match(source, end):
        return ()
    following = _NEXT_CODE.match(source, end)
    if following is not None and following.group("char") != "(":
        return ()  # the name ends its line, and the next line does not call it
    return None
