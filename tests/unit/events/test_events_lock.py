"""The events lock: what it records, and which changes to an event break its stored events."""

from __future__ import annotations

import enum
import inspect
import json
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from dolmen import App, Event, Module
from dolmen.events import EventDeclarationError, LockFileError
from dolmen.events.lock import (
    compare,
    event_classes,
    lock_document,
    read_lock,
    stale,
    write_lock,
)

REPO = Path(__file__).resolve().parents[3]
NAME = "orders.OrderPlaced"


class Placed(Event, name=NAME):
    """An order was placed."""

    order_id: str
    total: int
    note: str = ""


LOCK = lock_document([Placed])


def messages(lock: dict[str, Any], *classes: type[Event]) -> list[str]:
    return [problem.message for problem in compare(lock, classes)]


# -- breaking changes at the same version ------------------------------------------------------


class PlacedWithoutTotal(Event, name=NAME):
    order_id: str
    note: str = ""


class PlacedWithTextTotal(Event, name=NAME):
    order_id: str
    total: str
    note: str = ""


class PlacedWithCurrency(Event, name=NAME):
    order_id: str
    total: int
    note: str = ""
    currency: str


def test_a_removed_field_breaks_the_event() -> None:
    [problem] = compare(LOCK, [PlacedWithoutTotal])
    assert problem.event == NAME
    assert "changed incompatibly at version 1 (removed field `total`)" in problem.message
    assert "bump the version (version=2)" in problem.message
    assert "@PlacedWithoutTotal.upcaster(from_version=1)" in problem.message


def test_a_changed_type_breaks_the_event() -> None:
    assert (
        "field `total` changed type from integer to string"
        in messages(LOCK, PlacedWithTextTotal)[0]
    )


def test_a_new_required_field_breaks_the_event() -> None:
    assert (
        "new required field `currency` without a default" in messages(LOCK, PlacedWithCurrency)[0]
    )


def test_the_problem_points_at_the_event_class() -> None:
    [problem] = compare(LOCK, [PlacedWithoutTotal])
    assert problem.file == str(Path(__file__).resolve())
    assert problem.line == inspect.getsourcelines(PlacedWithoutTotal)[1]


# -- compatible changes ------------------------------------------------------------------------


class PlacedCompatibly(Event, name=NAME):
    """An order was placed, with more detail (a new docstring is no problem)."""

    order_id: str | None  # a union may gain members
    total: float  # an integer is a number
    note: str = ""
    currency: str = "EUR"  # a new field with a default


def test_compatible_changes_are_no_problem() -> None:
    assert compare(LOCK, [PlacedCompatibly]) == []


def test_an_event_not_in_the_lock_yet_is_no_problem() -> None:
    class Shipped(Event, name="orders.OrderShipped"):
        order_id: str

    assert compare(LOCK, [Placed, Shipped]) == []


# -- versions and upcasters --------------------------------------------------------------------


class PlacedV2(Event, name=NAME, version=2):
    order_id: str
    total: str


@PlacedV2.upcaster(from_version=1)
def total_as_text(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "total": str(data["total"])}


class PlacedV2WithoutUpcaster(Event, name=NAME, version=2):
    order_id: str
    total: str


class PlacedV3(Event, name=NAME, version=3):
    order_id: str
    total: str


@PlacedV3.upcaster(from_version=2)
def nothing_to_change(data: dict[str, Any]) -> dict[str, Any]:
    return data


def test_a_bumped_version_with_its_upcaster_is_no_problem() -> None:
    assert compare(LOCK, [PlacedV2]) == []


def test_a_bumped_version_without_its_upcaster_names_the_missing_one() -> None:
    [message] = messages(LOCK, PlacedV2WithoutUpcaster)
    assert "is at version 2 but the lock has version 1" in message
    assert "register @PlacedV2WithoutUpcaster.upcaster(from_version=1)" in message


def test_every_step_from_the_locked_version_needs_an_upcaster() -> None:
    [message] = messages(LOCK, PlacedV3)
    assert "register @PlacedV3.upcaster(from_version=1);" in message
    assert "from_version=2" not in message


def test_a_lowered_version_breaks_the_event() -> None:
    [message] = messages(lock_document([PlacedV2]), Placed)
    assert "is at version 1 but the lock has version 2" in message
    assert "restore version=2" in message


def test_an_upcaster_the_lock_has_may_not_disappear() -> None:
    [message] = messages(lock_document([PlacedV2]), PlacedV2WithoutUpcaster)
    assert "lost upcasters" in message
    assert "restore @PlacedV2WithoutUpcaster.upcaster(from_version=1)" in message


def test_an_event_no_class_declares_any_more_is_a_problem() -> None:
    [problem] = compare(LOCK, [])
    assert (problem.event, problem.file) == (NAME, None)
    assert "no class declares it any more" in problem.message
    assert "dead letters" in problem.message


# -- nested models, lists, enums ---------------------------------------------------------------


class Address(BaseModel):
    street: str
    city: str


class AddressWithoutCity(BaseModel):
    street: str


class Size(enum.Enum):
    SMALL = "S"
    LARGE = "L"


class FewerSizes(enum.Enum):
    SMALL = "S"


class MoreSizes(enum.Enum):
    SMALL = "S"
    LARGE = "L"
    HUGE = "XL"


def shipped(address: Any, size: Any, tags: Any = list[str], tree: Any = None) -> type[Event]:
    """An ``orders.OrderShipped`` event with these field types."""

    class Shipped(Event, name="orders.OrderShipped"):
        __annotations__ = {
            "address": address,
            "billing": address | None,
            "parcels": list[address],
            "size": size,
            "tags": tags,
        }

    return Shipped


def test_nested_models_are_compared_field_by_field() -> None:
    lock = lock_document([shipped(Address, Size)])
    [message] = messages(lock, shipped(AddressWithoutCity, Size))
    assert "removed field `address.city`" in message
    assert "removed field `billing.city`" in message
    assert "removed field `parcels[].city`" in message


def test_an_enum_may_gain_values_but_not_lose_them() -> None:
    lock = lock_document([shipped(Address, Size)])
    assert compare(lock, [shipped(Address, MoreSizes)]) == []
    [message] = messages(lock, shipped(Address, FewerSizes))
    assert 'field `size` changed type from "L" | "S" to "S"' in message
    assert compare(lock, [shipped(Address, Literal["S", "L", "M"])]) == []


def test_list_items_are_compared() -> None:
    lock = lock_document([shipped(Address, Size)])
    [message] = messages(lock, shipped(Address, Size, tags=list[int]))
    assert "field `tags[]` changed type from string to integer" in message


class Category(Event, name="catalog.CategoryAdded"):
    name: str
    parent: Category | None = None


class CategoryWithoutName(Event, name="catalog.CategoryAdded"):
    label: str = ""
    parent: CategoryWithoutName | None = None


def test_recursive_models_are_compared_once() -> None:
    [message] = messages(lock_document([Category]), CategoryWithoutName)
    assert "removed field `name`" in message


# -- the lock file -----------------------------------------------------------------------------


def test_the_lock_records_version_schema_and_upcasters() -> None:
    assert lock_document([PlacedV2]) == {
        "lock_version": 1,
        "events": {
            NAME: {
                "version": 2,
                "schema": PlacedV2.model_json_schema(),
                "upcasters_from": [1],
            }
        },
    }


def test_a_written_lock_reads_back_and_is_not_stale(tmp_path: Path) -> None:
    path = tmp_path / "events.lock.json"
    write_lock(path, [PlacedV2, Category])
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    lock = read_lock(path)
    assert not stale(lock, [Category, PlacedV2])
    assert compare(lock, [PlacedV2, Category]) == []
    assert [p.name for p in tmp_path.iterdir()] == ["events.lock.json"]


def test_a_lock_is_stale_when_any_event_differs() -> None:
    assert not stale(LOCK, [Placed])
    assert stale(LOCK, [PlacedCompatibly])  # compatible, but not what the lock says
    assert stale(LOCK, [Placed, Category])  # a new event
    assert stale(LOCK, [])  # an event gone


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"lock_version": 1,', "is not valid JSON (line 1"),
        ('{"version": 1}', "is not an events lock"),
        ('{"lock_version": 9, "events": {}}', "has lock_version 9"),
        ('{"lock_version": 1, "events": {"a.B": {"version": "1"}}}', "entry of event 'a.B'"),
    ],
)
def test_a_broken_lock_is_refused_naming_the_file(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "events.lock.json"
    path.write_text(text)
    with pytest.raises(LockFileError, match=str(path)) as raised:
        read_lock(path)
    assert error in str(raised.value)


def test_a_missing_lock_says_how_to_write_it(tmp_path: Path) -> None:
    with pytest.raises(LockFileError, match="dolmen events lock"):
        read_lock(tmp_path / "events.lock.json")


# -- the events of an app ----------------------------------------------------------------------


def test_the_events_of_the_shop_are_those_of_its_apis_and_handlers() -> None:
    from shop.app import app

    classes = event_classes(app.modules)
    names = [cls.event_name for cls in classes]
    assert names == sorted(set(names))
    assert {"billing.PaymentCaptured", "billing.PaymentFailed", "orders.OrderPlaced"} <= set(names)
    assert not stale(read_lock(REPO / "events.lock.json"), classes), (
        "the shop's events.lock.json is out of date: write it again with `dolmen events lock`"
    )


def test_an_event_only_handled_is_an_event_of_the_app() -> None:
    orders = Module("orders", package="nowhere.orders")  # a package without an api
    audit = Module("audit", listens_to=["orders"], package="nowhere.audit")

    @audit.on(Placed)
    async def record(event: Placed) -> None: ...

    assert event_classes(App("t", modules=[orders, audit]).modules) == [Placed]


def test_two_classes_with_one_event_name_are_refused() -> None:
    with pytest.raises(EventDeclarationError, match="two event classes are named"):
        lock_document([Placed, PlacedV2])
