"""A module's declared errors across units: sent by type name and arguments, raised again.

Only exception types the app's modules declare (``Module(errors={...})``) or their public
contracts define (an exception class in the ``api.py`` of a public service) cross: the
callee names the type (``module:QualName``), its arguments and its public attributes; the
caller looks the name up among the same declared types and rebuilds an instance of it
without calling its ``__init__`` (so ``str(error)`` and ``error.sku`` are what they were).
Nothing is ever imported from a name a request carries.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic_core import to_jsonable_python

ERROR_FIELD = "dolmen_error"
"""The member of the problem+json body that carries a declared error."""


class ErrorModule(Protocol):
    """What the error registry reads of a module: its declared errors and public services."""

    @property
    def errors(self) -> Mapping[type[BaseException], int]: ...

    @property
    def providers(self) -> Iterable[Any]: ...


def type_id(error_type: type[BaseException]) -> str:
    """``shop.catalog.domain.errors:UnknownProduct``: how an error type is named on the wire."""
    return f"{error_type.__module__}:{error_type.__qualname__}"


class DeclaredErrors:
    """The exception types that may cross units, by wire name, and the status of each."""

    def __init__(self, modules: Iterable[ErrorModule]) -> None:
        self.types: dict[str, type[BaseException]] = {}
        self.status: dict[type[BaseException], int] = {}
        for module in modules:
            for error_type, status in module.errors.items():
                self.types[type_id(error_type)] = error_type
                self.status[error_type] = status
            for provider in module.providers:
                if getattr(provider, "public", False):
                    for error_type in _contract_errors(provider.key):
                        self.types.setdefault(type_id(error_type), error_type)

    def declared(self, error: BaseException) -> type[BaseException] | None:
        """The nearest type of ``error``'s classes that may cross, or None."""
        for cls in type(error).__mro__:
            if issubclass(cls, BaseException) and self.types.get(type_id(cls)) is cls:
                return cls
        return None

    def encode(self, error: BaseException, as_type: type[BaseException]) -> dict[str, Any]:
        """The wire form of ``error``, as an instance of its declared type ``as_type``."""
        attributes = {
            name: value
            for name, value in getattr(error, "__dict__", {}).items()
            if not name.startswith("_")
        }
        return {
            "type": type_id(as_type),
            "args": to_jsonable_python(error.args, fallback=str),
            "attributes": to_jsonable_python(attributes, fallback=str),
        }

    def decode(self, wire: Any) -> BaseException | None:
        """The error ``wire`` describes, rebuilt; None when it names no declared type."""
        if not isinstance(wire, dict):
            return None
        error_type = self.types.get(str(wire.get("type")))
        args, attributes = wire.get("args"), wire.get("attributes")
        if error_type is None or not isinstance(args, list) or not isinstance(attributes, dict):
            return None
        error = error_type.__new__(error_type)
        error.args = tuple(args)
        # A class with __slots__ and no __dict__ keeps its args only: they still say it.
        with contextlib.suppress(TypeError):
            vars(error).update({k: v for k, v in attributes.items() if isinstance(k, str)})
        return error


def _contract_errors(key: Any) -> Iterable[type[BaseException]]:
    """The exception classes the module that defines ``key`` defines or re-exports.

    Only the application's own (same top-level package): a library's exception imported
    there (pydantic's ValidationError, say) is not part of the contract.
    """
    name = str(getattr(key, "__module__", ""))
    module = sys.modules.get(name)
    if module is None:
        return ()
    package = name.partition(".")[0]
    return [
        value
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__.partition(".")[0] == package
    ]
