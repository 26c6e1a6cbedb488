"""Read a file's imports token by token: exact, for the files the line scanner cannot be sure of.

:mod:`tokenize` knows where strings and comments are, where a logical line ends (through
backslashes and brackets) and which statements follow ``;`` or a compound header's ``:``.
It reads every Python version's grammar that 3.11's tokens can spell, so, unlike :mod:`ast`,
it reads code written for a newer Python all the same.
"""

from __future__ import annotations

import io
import re
import tokenize
from tokenize import DEDENT, ENDMARKER, INDENT, NAME, NEWLINE, OP, STRING, TokenInfo

from dolmen.check._imports import RawImport, UnreadableFile

_SKIPPED = (tokenize.NL, tokenize.COMMENT)
_STATEMENT_END = (NEWLINE, ENDMARKER)
_DYNAMIC = ("import_module", "__import__")
_LITERAL_NAME = re.compile(r"[\w.]+")
_OPENING = {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}


def read_tokens(source: str) -> list[RawImport]:
    """Every import in ``source`` (its line ends made newlines), in order. Raises UnreadableFile."""
    tokens = _tokens(source)
    imports: list[RawImport] = []
    indent = 0
    guard_from = 0  # the indentation from which lines are guarded; 0: none
    pending = False  # a TYPE_CHECKING header ended its line: its block starts at the next INDENT
    one_line = False  # a TYPE_CHECKING header with its body on the same line
    index = 0
    count = len(tokens)
    while index < count:
        token = tokens[index]
        kind, text = token.type, token.string
        if pending and kind not in (INDENT, NEWLINE):
            pending = False  # no block followed (not valid Python): guard nothing
        if kind == INDENT:
            indent += 1
            if pending:
                guard_from, pending = indent, False
        elif kind == DEDENT:
            indent -= 1
            if guard_from and indent < guard_from:
                guard_from = 0
        elif kind == NEWLINE:
            one_line = False
        elif kind == NAME:
            guarded = bool(guard_from) or one_line
            if text == "import":
                index = _import(tokens, index, guarded, imports)
                continue
            if text == "from" and (found := _from(tokens, index, guarded, imports)):
                index = found
                continue
            if text in _DYNAMIC:
                _dynamic(tokens, index, guarded, imports)
            elif text in ("if", "elif") and not guarded and _starts_statement(tokens, index):
                header_end = _type_checking_header(tokens, index)
                if header_end:
                    if tokens[header_end].type == NEWLINE:
                        pending = True
                    else:
                        one_line = True
                    index = header_end
                    continue
        index += 1
    return imports


def _tokens(source: str) -> list[TokenInfo]:
    try:
        readline = io.StringIO(source).readline
        return [t for t in tokenize.generate_tokens(readline) if t.type not in _SKIPPED]
    except (tokenize.TokenError, SyntaxError) as error:  # IndentationError is a SyntaxError
        where = error.args[1] if len(error.args) > 1 else None
        number = int(where[0]) if isinstance(where, tuple) and where else 0
        raise UnreadableFile(number, str(error.args[0])) from None


def _starts_statement(tokens: list[TokenInfo], index: int) -> bool:
    return index == 0 or tokens[index - 1].type in (NEWLINE, INDENT, DEDENT)


def _type_checking_header(tokens: list[TokenInfo], index: int) -> int:
    """The index after the ``:`` of ``if TYPE_CHECKING:`` at ``index``, else 0.

    ``typing.TYPE_CHECKING`` counts too, in brackets or not, after ``if`` or ``elif``.
    """
    words: list[str] = []
    depth = 0
    for position in range(index + 1, len(tokens)):
        token = tokens[position]
        if token.type in _STATEMENT_END:
            return 0
        if token.type == OP and token.string in _OPENING:
            depth += _OPENING[token.string]
            if depth < 0 or token.string not in "()":
                return 0
            continue
        if token.type == OP and token.string == ":" and depth == 0:
            spelled = "".join(words)
            if spelled in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
                return position + 1
            return 0
        words.append(token.string)
        if len(words) > 3:
            return 0
    return 0


def _import(tokens: list[TokenInfo], index: int, guarded: bool, into: list[RawImport]) -> int:
    """``import a.b as c, d`` at ``index``; the index after it."""
    line, col = tokens[index].start
    position = index + 1
    while True:
        name, position = _dotted(tokens, position)
        if not name:
            return position
        into.append(RawImport(name, "", line, col, guarded))
        position = _skip_alias(tokens, position)
        if not _is_op(tokens[position], ","):
            return position
        position += 1


def _from(tokens: list[TokenInfo], index: int, guarded: bool, into: list[RawImport]) -> int:
    """``from ..a import (b, c as d)`` at ``index``; the index after it, or 0 if it is none."""
    line, col = tokens[index].start
    position = index + 1
    dots = ""
    while tokens[position].type == OP and tokens[position].string in (".", "..."):
        dots += tokens[position].string
        position += 1
    module, position = _dotted(tokens, position)
    module = dots + module
    if not module or not _is_name(tokens[position], "import"):
        return 0
    position += 1
    bracketed = _is_op(tokens[position], "(")
    position += bracketed
    if _is_op(tokens[position], "*"):
        into.append(RawImport(module, "*", line, col, guarded))
        return position + 1
    while tokens[position].type == NAME:
        into.append(RawImport(module, tokens[position].string, line, col, guarded))
        position = _skip_alias(tokens, position + 1)
        if not _is_op(tokens[position], ","):
            break
        position += 1
    return position + (bracketed and _is_op(tokens[position], ")"))


def _dotted(tokens: list[TokenInfo], position: int) -> tuple[str, int]:
    """The dotted name at ``position`` (``""`` if none) and the index after it."""
    parts: list[str] = []
    while tokens[position].type == NAME and tokens[position].string != "import":
        parts.append(tokens[position].string)
        position += 1
        if not (_is_op(tokens[position], ".") and tokens[position + 1].type == NAME):
            break
        position += 1
    return ".".join(parts), position


def _skip_alias(tokens: list[TokenInfo], position: int) -> int:
    if _is_name(tokens[position], "as") and tokens[position + 1].type == NAME:
        return position + 2
    return position


def _dynamic(tokens: list[TokenInfo], index: int, guarded: bool, into: list[RawImport]) -> None:
    """A dynamic import at ``index``: a real call with a literal first argument.

    ``import_module("a")``, ``importlib.import_module("a")`` and ``__import__("a")`` count.
    """
    name = tokens[index].string
    start = tokens[index].start
    before = tokens[index - 1] if index else None
    if before is not None and _is_op(before, "."):
        owner = tokens[index - 2] if index >= 2 else None
        if name != "import_module" or owner is None or not _is_name(owner, "importlib"):
            return
        if index >= 3 and _is_op(tokens[index - 3], "."):
            return
        start = owner.start
    if not _is_op(tokens[index + 1], "("):
        return
    position = index + 2
    brackets = 0
    while _is_op(tokens[position], "("):
        brackets, position = brackets + 1, position + 1
    strings: list[str] = []
    while tokens[position].type == STRING:
        strings.append(tokens[position].string)
        position += 1
    for _ in range(brackets):
        if not _is_op(tokens[position], ")"):
            return
        position += 1
    if not strings or not (_is_op(tokens[position], ")") or _is_op(tokens[position], ",")):
        return
    value = _literal(" ".join(strings))
    if value is not None and _LITERAL_NAME.fullmatch(value):
        into.append(RawImport(value, "", start[0], start[1], guarded, True))


def _literal(text: str) -> str | None:
    """The value of string literal tokens, or None for bytes and f-strings."""
    import ast  # only for the rare literal argument of a dynamic import
    import warnings

    try:
        with warnings.catch_warnings():  # an invalid escape is the file's business, not ours
            warnings.simplefilter("ignore")
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):  # an f-string is no literal
        return None
    return value if isinstance(value, str) else None


def _is_op(token: TokenInfo, text: str) -> bool:
    return token.type == OP and token.string == text


def _is_name(token: TokenInfo, text: str) -> bool:
    return token.type == NAME and token.string == text
