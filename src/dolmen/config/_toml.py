"""Read a TOML file, keeping the line each key was set on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from dolmen.config._problems import Problem
from dolmen.config._sources import Layer, Source, SourceKind, Value, flatten

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\.\"' ]+?)\s*=")


def read_toml(path: Path, kind: SourceKind) -> tuple[Layer, list[Problem]]:
    """The file's values as a layer whose sources carry ``file:line``; or the parse problem."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return {}, [Problem(path.name, f"is not valid TOML: {error}", hint="fix the syntax")]
    lines = _key_lines(text)
    layer: Layer = {}
    for key_path, value in flatten(data, Source(kind, path.name)).items():
        line = _line_of(lines, key_path)
        location = f"{path.name}:{line}" if line else path.name
        layer[key_path] = Value(value.value, Source(kind, location))
    return layer, []


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each key path that starts a line (``key = ...`` under ``[table]``) to its line."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, *_split(key.group(1))), number)
    return lines


def _split(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def _line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of ``path`` or of its closest enclosing key (for inline tables and arrays)."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
