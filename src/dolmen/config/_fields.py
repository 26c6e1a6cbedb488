"""Walking settings models: their keys, which ones are secret, how values are shown."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

MASK = "********"


class Secret:
    """Marks a setting as secret: ``api_key: Annotated[str, Secret()]``.

    Secret values are shown as ``********`` by ``dolmen config show``, and never
    appear in logs or error messages. ``SecretStr`` fields are secret too.
    """

    def __repr__(self) -> str:
        return "Secret()"


def is_secret(field: FieldInfo) -> bool:
    """Whether the field holds a secret."""
    if any(isinstance(item, Secret) for item in field.metadata):
        return True
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("secret") is True:
        return True
    return any(t in (SecretStr, SecretBytes) for t in _types_in(field.annotation))


def model_of(field: FieldInfo) -> type[BaseModel] | None:
    """The settings model nested in this field, if it is one (``X`` or ``X | None``)."""
    for candidate in _types_in(field.annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def mapping_value_model(field: FieldInfo) -> type[BaseModel] | None:
    """The settings model of the values of a mapping field (``dict[str, X]``), if it is one."""
    for candidate in _types_in(field.annotation):
        origin = typing.get_origin(candidate)
        if not (isinstance(origin, type) and issubclass(origin, Mapping)):
            continue
        arguments = typing.get_args(candidate)
        for value_type in _types_in(arguments[-1] if arguments else Any):
            if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                return value_type
    return None


def _types_in(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _types_in(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _types_in(arg)
    else:
        yield annotation


def leaves(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], FieldInfo]]:
    """Every leaf setting of ``model`` as (path, field), nested models expanded."""
    for name, field in model.model_fields.items():
        nested = model_of(field)
        if nested is not None:
            yield from leaves(nested, (*prefix, name))
        else:
            yield (*prefix, name), field


def field_at(model: type[BaseModel], path: tuple[str, ...]) -> FieldInfo | None:
    """The field at ``path`` inside ``model``, or None."""
    field = model.model_fields.get(path[0]) if path else None
    if field is None or len(path) == 1:
        return field
    nested = model_of(field)
    return field_at(nested, path[1:]) if nested else field


def value_at(data: Any, path: tuple[str, ...]) -> Any:
    """Follow ``path`` through nested models."""
    for part in path:
        data = getattr(data, part, None)
    return data


@functools.cache
def isolated(model: type[BaseModel]) -> type[BaseModel]:
    """For a pydantic-settings class, a subclass that reads only the values Dolmen passes.

    Dolmen layers the sources itself (to know where each value came from), so
    the class must not read the environment on its own as well.
    """
    if not issubclass(model, BaseSettings):
        return model

    def only_init(
        cls: type[BaseSettings],
        /,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        *others: PydanticBaseSettingsSource,
        **named_others: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    namespace = {
        "settings_customise_sources": classmethod(only_init),
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
        "__doc__": model.__doc__,
    }
    return type(model.__name__, (model,), namespace)
