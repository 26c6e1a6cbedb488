"""Load, layer and validate the configuration of an application and its modules."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from dolmen.config._fields import (
    MASK,
    field_at,
    is_secret,
    isolated,
    leaves,
    mapping_value_model,
    model_of,
    value_at,
)
from dolmen.config._masking import mask_value
from dolmen.config._problems import Problem
from dolmen.config._sources import (
    ENV_PREFIX,
    Layer,
    Source,
    SourceKind,
    Value,
    environment_layer,
    flatten,
    merge,
    secrets_layer,
    unflatten,
)
from dolmen.config._toml import read_toml
from dolmen.config.exceptions import ConfigurationError

DEFAULT_ENVIRONMENT = "dev"
DEFAULT_SECRETS_DIR = Path("/run/secrets")
_ENV_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Setting:
    """One effective setting: its key, value (masked if secret) and source."""

    key: str
    value: Any
    source: Source
    secret: bool
    explicit: bool

    @property
    def shown(self) -> Any:
        """The value as it may be shown: a secret as ``********``, URL passwords as ``***``."""
        if self.secret and self.value is not None:
            return MASK
        return mask_value(self.value)

    @property
    def masked(self) -> bool:
        """Whether :attr:`shown` hides something: a secret, or a password in a URL."""
        return bool(self.shown != self.value)


@dataclass(frozen=True)
class LoadedConfig:
    """Validated settings of every section, with where each value came from."""

    environment: str
    sections: dict[str, BaseModel]
    settings: list[Setting]
    files: list[Path]

    def section(self, name: str) -> BaseModel:
        """The validated settings object of ``name`` (``"app"`` or a module)."""
        return self.sections[name]


def load_config(
    schema: Mapping[str, type[BaseModel]],
    *,
    config_dir: Path,
    environ: Mapping[str, str],
    environment: str | None = None,
    code: Mapping[str, Any] | None = None,
    include_process: bool = True,
) -> LoadedConfig:
    """Layer every source, validate every section, and report all problems at once.

    ``include_process=False`` leaves out the environment variables and secret
    files (what ``dolmen config diff`` compares: the committed files).
    """
    env = environment or environ.get("DOLMEN_ENV") or DEFAULT_ENVIRONMENT
    if not _ENV_NAME.match(env):
        raise ConfigurationError(
            [
                Problem(
                    "DOLMEN_ENV",
                    f"{env!r} is not an environment name; use letters, digits, '-' and '_'",
                )
            ],
            env,
        )
    problems: list[Problem] = []
    files: list[Path] = []
    layers: list[Layer] = [_defaults(schema)]
    for name, kind in (
        ("dolmen.toml", SourceKind.FILE),
        (f"dolmen.{env}.toml", SourceKind.ENV_FILE),
    ):
        path = config_dir / name
        if path.is_file():
            files.append(path)
            layer, found = read_toml(path, kind)
            layers.append(layer)
            problems.extend(found)
    code_layer = flatten(code or {}, Source(SourceKind.CODE))
    if include_process:
        layer, malformed = environment_layer(environ)
        layers.append(layer)
        problems.extend(Problem(name, "is not a setting name", hint=why) for name, why in malformed)
        secrets_dir = _secrets_dir(merge(*layers, code_layer), config_dir)
        layers.append(secrets_layer(secrets_dir, sections=set(schema)))
    layers.append(code_layer)
    merged = merge(*layers)
    problems.extend(_unknown_keys(merged, schema))
    unknown = {problem.key for problem in problems}
    sections: dict[str, BaseModel] = {}
    for section, model in schema.items():
        try:
            sections[section] = isolated(model)(**unflatten(merged, section))
        except ValidationError as error:
            found = _validation_problems(section, model, error, merged, unknown)
            if not found and not problems:  # never fail later without saying why
                found = [Problem(section, f"is not valid: {error}")]
            problems.extend(found)
    if problems:
        raise ConfigurationError(problems, env)
    return LoadedConfig(env, sections, _settings(schema, sections, merged), files)


def _defaults(schema: Mapping[str, type[BaseModel]]) -> Layer:
    layer: Layer = {}
    for section, model in schema.items():
        for path, field in leaves(model):
            if not field.is_required():
                default = field.get_default(call_default_factory=True)
                layer[(section, *path)] = Value(default, Source(SourceKind.DEFAULT))
    return layer


def _secrets_dir(layer: Layer, config_dir: Path) -> Path:
    configured = layer.get(("app", "secrets_dir"))
    if configured is None or configured.value in (None, ""):
        return DEFAULT_SECRETS_DIR
    return config_dir / Path(str(configured.value))


def _unknown_keys(merged: Layer, schema: Mapping[str, type[BaseModel]]) -> list[Problem]:
    problems: list[Problem] = []
    reported: set[tuple[tuple[str, ...], Source]] = set()
    for path, value in merged.items():
        model = schema.get(path[0])
        if model is None:
            if (path[:1], value.source) not in reported:
                reported.add((path[:1], value.source))
                problems.append(_unknown(path, 0, value.source, sorted(schema)))
            continue
        current: type[BaseModel] | None = model
        depth = 1
        while current is not None and depth < len(path):
            field = current.model_fields.get(path[depth])
            if field is None:
                if (path[: depth + 1], value.source) not in reported:
                    reported.add((path[: depth + 1], value.source))
                    known = sorted(current.model_fields)
                    problems.append(_unknown(path, depth, value.source, known))
                break
            current = model_of(field)
            depth += 1
            if current is None and (values := mapping_value_model(field)) is not None:
                current = values  # dict[str, Model]: past the entry's own key, a Model again
                depth += 1
            # Otherwise inside a plain dict or list setting: its content is its own.
    return problems


def _unknown(path: tuple[str, ...], depth: int, source: Source, known: list[str]) -> Problem:
    """``path[depth]`` names nothing; suggest the closest known name in its place."""
    what = "section" if depth == 0 else "key"
    close = difflib.get_close_matches(path[depth], known, n=1, cutoff=0.6)
    hint = None
    if close:
        suggestion = (*path[:depth], close[0], *path[depth + 1 :])
        hint = (
            f"did you mean {ENV_PREFIX}{'__'.join(suggestion).upper()}?"
            if source.kind is SourceKind.ENVIRONMENT
            else f"did you mean '{'.'.join(suggestion)}'?"
        )
    elif known:
        hint = f"known {what}s: {', '.join(known)}"
    return Problem(".".join(path[: depth + 1]), f"unknown {what}", source, hint)


def _validation_problems(
    section: str,
    model: type[BaseModel],
    error: ValidationError,
    merged: Layer,
    unknown: set[str],
) -> list[Problem]:
    problems = []
    for item in error.errors():
        loc = tuple(str(part) for part in item["loc"])
        full = (section, *loc)
        key = ".".join(full)
        field = field_at(model, loc)
        secret = field is not None and is_secret(field)
        if item["type"] == "extra_forbidden":
            if key not in unknown:  # else reported already, with a suggestion
                problems.append(Problem(key, "unknown key", _source_of(merged, full)))
            continue
        if item["type"] == "missing":
            problems.append(Problem(key, "is required but not set", None, _how_to_set(full)))
            continue
        source = _source_of(merged, full)
        shown = "" if secret else f", got {item.get('input')!r}"
        problems.append(Problem(key, f"{item['msg'].rstrip('.')}{shown}", source))
    return problems


def _how_to_set(path: tuple[str, ...]) -> str:
    table = ".".join(path[:-1])
    return (
        f"set {path[-1]} under [{table}] in dolmen.toml, or the environment variable "
        f"{ENV_PREFIX}{'__'.join(path).upper()}, or the secret file {'__'.join(path)}"
    )


def _source_of(merged: Layer, path: tuple[str, ...]) -> Source | None:
    for end in range(len(path), 0, -1):
        if path[:end] in merged:
            return merged[path[:end]].source
    return None


def _settings(
    schema: Mapping[str, type[BaseModel]], sections: dict[str, BaseModel], merged: Layer
) -> list[Setting]:
    rows = []
    for section, model in schema.items():
        for path, field in leaves(model):
            full = (section, *path)
            source = _source_of(merged, full) or Source(SourceKind.DEFAULT)
            raw = value_at(sections[section], path)
            if isinstance(raw, SecretStr | SecretBytes):
                raw = raw.get_secret_value()
            rows.append(
                Setting(
                    key=".".join(full),
                    value=to_jsonable_python(raw),
                    source=source,
                    secret=is_secret(field),
                    explicit=source.kind is not SourceKind.DEFAULT,
                )
            )
    return rows
