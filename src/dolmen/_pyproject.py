"""Read ``[tool.dolmen]`` from a project's pyproject.toml (shared by the CLI and the check)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def tool_dolmen(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.dolmen]`` table, empty if the file or table is missing.

    Raises ValueError, saying which file, when the file is not valid TOML.
    """
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{pyproject} is not valid TOML: {error}") from None
    table = data.get("tool", {}).get("dolmen", {})
    return table if isinstance(table, dict) else {}
