"""Event classes: stable names, versions, immutability."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from dolmen import Event
from dolmen.events import EventDeclarationError


class Shipped(Event, name="shipping.Shipped", version=2):
    order_id: str


def test_an_event_has_its_declared_name_version_and_owner() -> None:
    assert Shipped.event_name == "shipping.Shipped"
    assert Shipped.event_version == 2
    assert Shipped.owner_module() == "shipping"


def test_an_event_in_a_modules_api_derives_its_name_from_the_package() -> None:
    from shop.orders.api import OrderPlaced

    assert OrderPlaced.event_name == "orders.OrderPlaced"
    assert OrderPlaced.event_version == 1


def test_an_event_outside_an_api_needs_an_explicit_name() -> None:
    with pytest.raises(EventDeclarationError, match="give it an explicit name"):

        class Loose(Event):
            x: int


def test_a_name_without_a_module_part_is_refused() -> None:
    with pytest.raises(EventDeclarationError, match=r"'<module>\.<EventName>'"):

        class Bad(Event, name="Bad"):
            x: int


@pytest.mark.parametrize("version", [0, -1, "2", True])
def test_a_version_must_be_a_positive_integer(version: object) -> None:
    with pytest.raises(EventDeclarationError, match="version must be an integer"):

        class Bad(Event, name="a.Bad", version=version):
            x: int


def test_events_are_immutable_and_refuse_unknown_fields() -> None:
    event = Shipped(order_id="o-1")
    with pytest.raises(ValidationError):
        event.order_id = "o-2"
    with pytest.raises(ValidationError):
        Shipped(order_id="o-1", extra="x")  # type: ignore[call-arg]
