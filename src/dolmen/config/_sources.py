"""Where configuration values come from, lowest precedence first.

defaults < ``dolmen.toml`` < ``dolmen.<env>.toml`` < environment variables
< secret files < values given in code (``App(config=...)``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "DOLMEN__"
ENV_ALIASES = {"DOLMEN_DATABASE_URL": ("app", "database_url")}
"""Short names kept for the settings every deployment platform sets."""

Path_ = tuple[str, ...]
"""A key as a path: ``("billing", "charge_limit")``."""


class SourceKind(enum.IntEnum):
    """The layers, in increasing precedence."""

    DEFAULT = 0
    FILE = 1
    ENV_FILE = 2
    ENVIRONMENT = 3
    SECRET = 4
    CODE = 5


@dataclass(frozen=True, slots=True)
class Source:
    """Where one value came from."""

    kind: SourceKind
    location: str = ""

    def describe(self) -> str:
        """Say it for a person: ``dolmen.toml:12``, ``environment variable X``."""
        if self.kind is SourceKind.DEFAULT:
            return "default"
        if self.kind is SourceKind.ENVIRONMENT:
            return f"environment variable {self.location}"
        if self.kind is SourceKind.SECRET:
            return f"secret file {self.location}"
        if self.kind is SourceKind.CODE:
            return "set in code"
        return self.location


@dataclass(frozen=True, slots=True)
class Value:
    """A raw value and its source."""

    value: Any
    source: Source


Layer = dict[Path_, Value]
"""One source's values, by key path."""


def flatten(data: Mapping[str, Any], source: Source, prefix: Path_ = ()) -> Layer:
    """Turn nested tables into leaf paths: ``{"a": {"b": 1}}`` -> ``{("a", "b"): 1}``."""
    layer: Layer = {}
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping) and value:
            layer.update(flatten(value, source, path))
        elif isinstance(value, Mapping) and not prefix:
            continue  # an empty section (``[events]`` with nothing under it) sets nothing
        else:
            layer[path] = Value(value, source)
    return layer


def environment_layer(environ: Mapping[str, str]) -> tuple[Layer, list[tuple[str, str]]]:
    """Values from ``DOLMEN__SECTION__KEY`` variables, and the malformed names found."""
    layer: Layer = {}
    malformed: list[tuple[str, str]] = []
    for name, raw in sorted(environ.items()):
        if name in ENV_ALIASES:
            layer[ENV_ALIASES[name]] = Value(raw, Source(SourceKind.ENVIRONMENT, name))
            continue
        if not name.startswith(ENV_PREFIX):
            continue
        parts = tuple(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))
        if len(parts) < 2 or not all(parts):
            malformed.append((name, "expected DOLMEN__<SECTION>__<KEY>, e.g. DOLMEN__APP__DEBUG"))
            continue
        layer[parts] = Value(_decode(raw), Source(SourceKind.ENVIRONMENT, name))
    return layer, malformed


def secrets_layer(directory: Path, sections: set[str]) -> Layer:
    """Values from one file per secret, named like ``billing__api_key``.

    Files of sections the app does not have are left alone: a secrets folder is
    often shared with other programs (``/run/secrets/postgres__password``).
    """
    layer: Layer = {}
    if not directory.is_dir():
        return layer
    for path in sorted(directory.iterdir()):
        parts = tuple(part.lower() for part in path.name.split("__"))
        if path.is_file() and len(parts) >= 2 and all(parts) and parts[0] in sections:
            value = path.read_text(encoding="utf-8").strip()
            layer[parts] = Value(value, Source(SourceKind.SECRET, str(path)))
    return layer


def _decode(raw: str) -> Any:
    """Environment values are text; JSON lists and objects are decoded."""
    stripped = raw.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return raw
    return raw


def merge(*layers: Layer) -> Layer:
    """Later layers win; setting a key replaces everything below it."""
    merged: Layer = {}
    for layer in layers:
        for path, value in layer.items():
            for existing in [p for p in merged if p[: len(path)] == path or path[: len(p)] == p]:
                del merged[existing]
            merged[path] = value
    return merged


def unflatten(layer: Layer, section: str) -> dict[str, Any]:
    """The plain nested values of one section, ready for validation."""
    result: dict[str, Any] = {}
    for path, value in layer.items():
        if path[0] != section:
            continue
        node = result
        for part in path[1:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value.value
    return result
