"""A small, deterministic YAML writer for the files ``dolmen deploy`` writes.

Block style, keys in the order given (the writers build them sorted); a string is written
plain only when YAML cannot read it as anything else, otherwise double-quoted as JSON writes
it (JSON's escapes are YAML's), so the same plan always gives the same bytes and no value is
read back as another type (``"on"``, ``"8000"``, ``"null"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./@+=-]*$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


def dump_yaml(document: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """``document`` as YAML, after ``header`` lines written as comments."""
    lines = [f"# {line}".rstrip() for line in header]
    lines.extend(_block(document, 0))
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return _string(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")


def _block(value: Mapping[str, Any] | Sequence[Any], indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            lines.extend(_entry(f"{pad}{_string(key)}:", item, indent + 1))
    else:
        for item in value:
            if isinstance(item, Mapping) and item:  # "- key: value" then the rest aligned
                nested = _block(item, indent + 1)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.extend(_entry(f"{pad}-", item, indent + 1))
    return lines


def _entry(prefix: str, item: Any, indent: int) -> list[str]:
    if isinstance(item, Mapping | list | tuple):
        if not item:
            return [f"{prefix} {'{}' if isinstance(item, Mapping) else '[]'}"]
        return [prefix, *_block(item, indent)]
    return [f"{prefix} {_scalar(item)}"]
