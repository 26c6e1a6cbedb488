"""Reports of a loaded configuration: what ``dolmen config show / diff / schema`` print.

Secrets are masked in every report. A public module of ``dolmen.config`` so that tools (the
CLI among them) can print the same reports.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined, to_jsonable_python

from dolmen.config._fields import MASK, is_secret, leaves
from dolmen.config._loader import LoadedConfig, Setting
from dolmen.config._masking import mask_value
from dolmen.config._sources import ENV_PREFIX

__all__ = [
    "Difference",
    "SchemaRow",
    "diff",
    "schema_json",
    "schema_markdown",
    "schema_rows",
    "show_json",
    "show_text",
]


def show_text(config: LoadedConfig) -> str:
    """Every effective setting, its value (secrets masked) and its source, as a table."""
    files = ", ".join(str(f) for f in config.files) or "none"
    rows = [(s.key, _text(s.shown), s.source.describe()) for s in config.settings]
    return f"environment: {config.environment}\nfiles: {files}\n\n" + _table(
        ("KEY", "VALUE", "SOURCE"), rows
    )


def show_json(config: LoadedConfig) -> str:
    """The same as :func:`show_text`, as JSON.

    Each setting says whether it is ``secret`` (declared so: its value is shown as
    ``********``) and whether its shown value is ``masked`` (a secret, or a value with
    a URL password shown as ``***``).
    """
    return json.dumps(
        {
            "environment": config.environment,
            "files": [str(f) for f in config.files],
            "settings": [
                {
                    "key": s.key,
                    "value": s.shown,
                    "source": s.source.describe(),
                    "secret": s.secret,
                    "masked": s.masked,
                }
                for s in config.settings
            ],
        },
        indent=2,
    )


@dataclass(frozen=True, slots=True)
class Difference:
    """One key whose value differs between two environments."""

    key: str
    left: Setting
    right: Setting

    def describe(self, left_env: str, right_env: str) -> str:
        """``key: dev=1000 (default) | prod=250 (dolmen.prod.toml:2)``."""
        if self.left.secret or self.right.secret:
            left, right = _secret_side(self.left), _secret_side(self.right)
        else:
            left, right = _text(self.left.shown), _text(self.right.shown)
        notes = ""
        if left == right and self.left.value != self.right.value:
            notes += "  [the masked parts differ]"
        if self.left.explicit != self.right.explicit:
            notes += f"  [set in {left_env if self.left.explicit else right_env} only]"
        return (
            f"{self.key}: {left_env}={left} ({self.left.source.describe()}) | "
            f"{right_env}={right} ({self.right.source.describe()}){notes}"
        )


def diff(left: LoadedConfig, right: LoadedConfig) -> list[Difference]:
    """Keys whose values differ, or that one environment sets and the other leaves default."""
    right_by_key = {s.key: s for s in right.settings}
    differences = []
    for setting in left.settings:
        other = right_by_key[setting.key]
        if setting.value != other.value or setting.explicit != other.explicit:
            differences.append(Difference(setting.key, setting, other))
    return differences


def _secret_side(setting: Setting) -> str:
    return MASK if setting.value is not None else "None"


@dataclass(frozen=True, slots=True)
class SchemaRow:
    """One setting in the reference: key, variable, type, default, description."""

    key: str
    env: str
    type: str
    default: Any
    required: bool
    secret: bool
    description: str


def schema_rows(schema: Mapping[str, type[BaseModel]]) -> list[SchemaRow]:
    """Every setting of every section, for the reference."""
    rows = []
    for section, model in schema.items():
        for path, field in leaves(model):
            full = (section, *path)
            default = None if field.is_required() else field.get_default(call_default_factory=True)
            secret = is_secret(field)
            rows.append(
                SchemaRow(
                    key=".".join(full),
                    env=ENV_PREFIX + "__".join(full).upper(),
                    type=_type_name(field.annotation),
                    default=MASK
                    if secret and default not in (None, PydanticUndefined)
                    else mask_value(to_jsonable_python(default, fallback=str)),
                    required=field.is_required(),
                    secret=secret,
                    description=field.description or "",
                )
            )
    return rows


def schema_json(schema: Mapping[str, type[BaseModel]]) -> str:
    """The reference as JSON: every setting, and a JSON Schema per section."""
    return json.dumps(
        {
            "settings": [dataclasses.asdict(row) for row in schema_rows(schema)],
            "sections": {name: model.model_json_schema() for name, model in schema.items()},
        },
        indent=2,
        default=str,
    )


def schema_markdown(schema: Mapping[str, type[BaseModel]], title: str) -> str:
    """The reference as a Markdown page, one table per section."""
    out = [
        f"# Configuration reference: {title}",
        "",
        "Generated by `dolmen config schema --format markdown`; do not edit by hand.",
        "Each setting can be set in `dolmen.toml` (under `[section]`), in `dolmen.<env>.toml`,",
        "as the environment variable shown, or as a secret file named like the variable",
        "without `DOLMEN__`, in lower case.",
    ]
    rows = schema_rows(schema)
    for section in schema:
        out += ["", f"## `[{section}]`", ""]
        out += ["| key | type | default | environment variable | description |"]
        out += ["|---|---|---|---|---|"]
        for row in (r for r in rows if r.key.split(".")[0] == section):
            default = "*required*" if row.required else f"`{_text(row.default)}`"
            secret = " *(secret)*" if row.secret else ""
            cells = [
                f"`{row.key.partition('.')[2]}`",
                f"`{row.type}`",
                default,
                f"`{row.env}`",
                row.description + secret,
            ]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("pathlib.", "")


def _text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines)
