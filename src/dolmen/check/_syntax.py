"""Judge a file's syntax as the Python running the check does, and find its suppressions.

Both run where the file is read (in the worker processes on a cold run) and are kept in
the import cache, so an unchanged file is never parsed again.
"""

from __future__ import annotations

import re
import sys

PYTHON = f"Python {sys.version_info.major}.{sys.version_info.minor}"
"""The Python whose grammar judges the files: the one running the check."""

SyntaxVerdict = tuple[int, str] | tuple[()] | None
"""``()`` when the file parses, ``(line, message)`` when it does not, None when not judged."""

Suppression = tuple[int, int, tuple[str, ...], str]
"""A ``# dolmen: ignore[rule, ...] reason`` comment: (line, column from 1, rules, reason)."""

_SUPPRESSION = re.compile(
    rb"#[ \t]*dolmen:[ \t]*ignore\[(?P<rules>[\w\-, ]*)\](?P<reason>[^#\r\n]*)"
)
_LINE_END = re.compile(rb"\r\n|\r|\n")


def syntax_error(data: bytes, path: str) -> tuple[int, str] | tuple[()]:
    """``(line, message)`` if this Python rejects the file's bytes, else ``()``.

    The file is parsed and its names bound (:mod:`symtable`), as ``import`` would before
    compiling: syntax errors and misplaced ``global``/``nonlocal`` are found; what only the
    bytecode compiler rejects (``return`` outside a function) is not. The caller silences
    warnings (an invalid escape is the file's business, and an error under ``-W error``).
    """
    import symtable  # imported once, by the first file judged

    try:
        symtable.symtable(data, path, "exec")  # type: ignore[arg-type]  # bytes: decoded as Python does
    except SyntaxError as error:
        return (error.lineno or 1, error.msg or str(error))
    except (ValueError, RecursionError, MemoryError) as error:  # too deeply nested, say
        return (1, str(error) or type(error).__name__)
    return ()


def suppressions_in(data: bytes) -> tuple[Suppression, ...]:
    """Every suppression comment of a file's bytes, with its line as Python counts lines."""
    found: list[Suppression] = []
    line, last = 1, 0
    for match in _SUPPRESSION.finditer(data):
        start = match.start()
        line += len(_LINE_END.findall(data, last, start))
        last = start
        line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
        rules = tuple(r.strip() for r in match.group("rules").decode().split(","))
        reason = match.group("reason").decode(errors="replace").strip()
        found.append((line, start - line_start + 1, tuple(r for r in rules if r), reason))
    return _comments_only(data, found) if found else ()


def _comments_only(data: bytes, found: list[Suppression]) -> tuple[Suppression, ...]:
    """The suppressions of ``found`` that are comments, not text inside a string.

    Only files with a candidate are tokenized; one that cannot be (its syntax is reported
    on its own) keeps every candidate.
    """
    import io
    import tokenize

    spans: dict[int, list[tuple[int, int]]] = {}
    lines = data.splitlines(keepends=True)
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.COMMENT:
                (row, start), (_, end) = token.start, token.end
                text = lines[row - 1].decode("utf-8", "replace") if row <= len(lines) else ""
                first = len(text[:start].encode()) + 1
                spans.setdefault(row, []).append((first, first + len(text[start:end].encode())))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return tuple(found)
    return tuple(s for s in found if any(a <= s[1] < b for a, b in spans.get(s[0], ())))
