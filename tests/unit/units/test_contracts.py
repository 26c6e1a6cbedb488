"""A service's contract across units, read from its Protocol; and which errors may cross."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pytest
from pydantic import BaseModel, ValidationError

from dolmen.di import provide
from dolmen.units import idempotent
from dolmen.units._errors import DeclaredErrors, type_id
from dolmen.units._wire import ContractError, contract_of


class Line(BaseModel):
    sku: str
    quantity: int


class OutOfPaper(Exception):
    """An error the contract's module defines without declaring it in Module(errors=...)."""

    def __init__(self, printer: str) -> None:
        super().__init__(f"printer {printer!r} is out of paper")
        self.printer = printer


class Printing(Protocol):
    @idempotent
    async def status(self, printer: str, *, verbose: bool = False) -> dict[str, int]: ...

    async def print_lines(self, lines: Sequence[Line], copies: int = 1) -> list[Line]: ...

    def _helper(self) -> None: ...


def test_each_public_async_method_is_a_call_and_idempotent_ones_say_so() -> None:
    contract = contract_of(Printing)

    assert contract.name == "Printing"
    assert sorted(contract.methods) == ["print_lines", "status"]
    assert contract.methods["status"].idempotent
    assert not contract.methods["print_lines"].idempotent
    assert contract_of(Printing) is contract  # read once


def test_arguments_go_out_as_json_of_their_annotations_and_come_back_as_models() -> None:
    method = contract_of(Printing).methods["print_lines"]

    body = method.encode_arguments(((Line(sku="A", quantity=2),),), {})

    assert body == b'{"lines":[{"sku":"A","quantity":2}]}'  # the default is the callee's
    assert method.decode_arguments(body) == {"lines": [Line(sku="A", quantity=2)]}
    assert method.decode_result(b'[{"sku":"A","quantity":2}]') == [Line(sku="A", quantity=2)]


def test_keyword_only_and_default_parameters_are_optional_fields() -> None:
    method = contract_of(Printing).methods["status"]

    assert method.decode_arguments(method.encode_arguments(("p1",), {"verbose": True})) == {
        "printer": "p1",
        "verbose": True,
    }
    with pytest.raises(ValidationError):
        method.decode_arguments(b'{"printer": "p1", "colour": true}')  # not a parameter
    with pytest.raises(TypeError):
        method.encode_arguments((), {})  # printer is missing, as in a local call


class Shapes(Protocol):
    async def plain(self, a: int, b: str = "b", /, c: float = 1.0) -> None: ...

    async def keyed(self, a: int, *, b: int) -> None: ...

    async def bare(self) -> None: ...


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [("plain", (1, "x", 2.5), {}), ("plain", (1,), {}), ("plain", (1, "x"), {"c": 3.0}),
     ("plain", (), {}), ("plain", (1, "x", 2.5, 4), {}), ("plain", (1,), {"b": "x"}),
     ("keyed", (1,), {}), ("keyed", (1,), {"b": 2}), ("keyed", (1, 2), {}),
     ("bare", (), {}), ("bare", (1,), {})],
)  # fmt: skip
def test_a_call_s_arguments_bind_as_the_signature_binds_them(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    # Arguments all given by position skip Signature.bind: the same body, the same errors.
    method = contract_of(Shapes).methods[name]
    try:
        expected: Any = method.arguments.dump_json(
            method.arguments.validate_python(method.signature.bind(*args, **kwargs).arguments)
        )
    except TypeError as error:
        expected = type(error)
    try:
        got: Any = method.encode_arguments(args, kwargs)
    except TypeError as error:
        got = type(error)
    assert got == expected


class Syncish(Protocol):
    def count(self) -> int: ...


class Variadic(Protocol):
    async def add(self, *items: int) -> int: ...


class Unresolved(Protocol):
    async def get(self) -> NotImportedHere: ...  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("key", "says"),
    [(Syncish, "is not 'async def'"), (Variadic, "takes *items"),
     (Unresolved, "cannot read the annotations"), ("Printing", "is not a class")],
)  # fmt: skip
def test_a_service_that_cannot_cross_units_says_what_to_change(key: Any, says: str) -> None:
    with pytest.raises(ContractError, match=re.escape(says)):
        contract_of(key)


@dataclass
class FakeModule:
    errors: Mapping[type[BaseException], int] = field(default_factory=dict)
    providers: Iterable[Any] = ()


def test_errors_of_the_contract_s_module_cross_without_being_declared() -> None:
    errors = DeclaredErrors([FakeModule(providers=[provide(Printing, object, public=True)])])

    wire = errors.encode(OutOfPaper("p1"), OutOfPaper)
    error = errors.decode(wire)

    assert type(error) is OutOfPaper
    assert str(error) == "printer 'p1' is out of paper"
    assert error.printer == "p1"
    assert type_id(ValidationError) not in errors.types  # a library's, imported here: not


def test_an_error_neither_declared_nor_in_a_contract_does_not_cross() -> None:
    errors = DeclaredErrors([FakeModule(errors={KeyError: 404})])

    assert errors.declared(KeyError("x")) is KeyError
    assert errors.declared(OutOfPaper("p1")) is None
    assert errors.decode({"type": type_id(OutOfPaper), "args": [], "attributes": {}}) is None


def test_a_subclass_of_a_declared_error_crosses_as_the_declared_one() -> None:
    class Jammed(KeyError):
        pass

    errors = DeclaredErrors([FakeModule(errors={KeyError: 404})])

    assert errors.declared(Jammed("tray 2")) is KeyError
