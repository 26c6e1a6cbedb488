"""A service's contract on the wire: each method's arguments and result through pydantic.

The contract is read from the service's key, the Protocol in ``api.py``: every public
``async def`` method is a call whose arguments are a JSON object (one field per parameter,
validated against the parameter's annotation) and whose result is the JSON of its return
annotation. Both sides read the same Protocol, so ``Sequence[StockRequest]`` goes out as a
list of objects and ``list[ReservedLine]`` comes back as models, as in one process.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired

from pydantic import ConfigDict, TypeAdapter
from typing_extensions import TypedDict

from dolmen.units._idempotent import is_idempotent


class ContractError(TypeError):
    """A service cannot be called across units as declared; the message says what to change."""


@dataclass(frozen=True, slots=True, eq=False)
class MethodContract:
    """One ``async def`` method of a service: how its arguments and result cross the wire."""

    name: str
    signature: inspect.Signature
    arguments: TypeAdapter[Any]
    result: TypeAdapter[Any]
    idempotent: bool
    positional: tuple[str, ...] | None = None
    """The names of the parameters a call may give by position, in order, when a call that
    gives each of them so and nothing else is complete (no keyword-only parameter without a
    default); else None. Such a call binds as ``Signature.bind`` would, without it."""

    def encode_arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bytes:
        """The JSON body of a call.

        TypeError for arguments the method does not take, pydantic's ValidationError for
        values that do not fit its annotations: as a call in one process would fail.
        """
        positional = self.positional
        if not kwargs and positional is not None and len(args) == len(positional):
            arguments = dict(zip(positional, args, strict=True))  # what bind() would give
        else:
            arguments = self.signature.bind(*args, **kwargs).arguments
        return self.arguments.dump_json(self.arguments.validate_python(arguments))

    def decode_arguments(self, body: bytes) -> dict[str, Any]:
        """The keyword arguments of a call's body; pydantic's ValidationError if it is not."""
        decoded: dict[str, Any] = self.arguments.validate_json(body)
        return decoded

    def encode_result(self, value: Any) -> bytes:
        """The JSON of what the method returned (checked against its return annotation)."""
        return self.result.dump_json(self.result.validate_python(value, from_attributes=True))

    def decode_result(self, body: bytes) -> Any:
        """What the method returned, rebuilt from its JSON (models as models)."""
        return self.result.validate_json(body)


@dataclass(frozen=True, slots=True, eq=False)
class ServiceContract:
    """A public service's methods, by name; ``name`` identifies the service in URLs."""

    key: Any
    name: str
    methods: Mapping[str, MethodContract]


def service_name(key: Any) -> str:
    """The service's name in the URL of its calls: its qualified name (``CatalogService``)."""
    return str(getattr(key, "__qualname__", None) or getattr(key, "__name__", key))


@functools.cache
def contract_of(key: Any) -> ServiceContract:
    """The contract of the service ``key`` (read once); ContractError if it cannot cross."""
    if not isinstance(key, type):
        raise ContractError(
            f"{key!r} is not a class: a service called across units is keyed by a Protocol "
            "(or class) whose async methods make its contract"
        )
    methods = {}
    for name in dir(key):
        if name.startswith("_"):
            continue
        member = inspect.getattr_static(key, name)
        if isinstance(member, (staticmethod, classmethod)) or not inspect.isfunction(member):
            continue
        if not inspect.iscoroutinefunction(member):
            raise ContractError(
                f"{key.__qualname__}.{name} is not 'async def': a service called from another "
                "unit has only coroutine methods (make it async, or private with a '_')"
            )
        methods[name] = _method(key, name, member)
    return ServiceContract(key, service_name(key), methods)


def _method(key: type, name: str, function: Any) -> MethodContract:
    where = f"{key.__qualname__}.{name}"
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError) as error:
        raise ContractError(
            f"cannot read the annotations of {where}: {error}; import the types it names in "
            "its module (not only under TYPE_CHECKING)"
        ) from error
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())[1:]  # without self
    fields: dict[str, Any] = {}
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ContractError(
                f"{where} takes *{parameter.name}: a method called across units names each "
                "of its parameters"
            )
        annotation = hints.get(parameter.name, Any)
        fields[parameter.name] = (
            annotation if parameter.default is parameter.empty else NotRequired[annotation]
        )
    make_typed_dict: Any = TypedDict  # the functional form, with names known only now
    arguments_type = make_typed_dict(f"{key.__name__}_{name}_arguments", fields)
    arguments_type.__pydantic_config__ = ConfigDict(extra="forbid")  # no unknown argument
    return MethodContract(
        name,
        signature.replace(parameters=parameters),
        TypeAdapter(arguments_type),
        TypeAdapter(hints.get("return", Any)),
        is_idempotent(function),
        _positional(parameters),
    )


def _positional(parameters: list[inspect.Parameter]) -> tuple[str, ...] | None:
    """:attr:`MethodContract.positional` of a method with these parameters (self left out)."""
    by_position = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = tuple(p.name for p in parameters if p.kind in by_position)
    required_by_keyword = any(
        p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is p.empty for p in parameters
    )
    return None if required_by_keyword else names
