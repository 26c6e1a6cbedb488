"""Event handlers declared as data: ``Module(handlers=[...])`` beside ``@module.on``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from dolmen import App, Event, Module, on
from dolmen.events import DeliveryContext, Retry
from dolmen.modules import CompositionError, Handler

if TYPE_CHECKING:
    from dolmen.events import EventPublisher


class Shipped(Event, name="shipping.Shipped"):
    order_id: str


class Returned(Event, name="shipping.Returned"):
    order_id: str


async def close_order(event: Shipped) -> None:
    """Handle a shipment."""


async def refund_order(event: Returned, context: DeliveryContext) -> None:
    """Handle a return."""


def test_a_listed_function_handles_the_event_its_first_parameter_is_annotated_with() -> None:
    orders = Module("orders", listens_to=["shipping"], handlers=[close_order])
    [subscription] = orders.subscriptions
    assert subscription.event_type is Shipped
    assert subscription.handler is close_order
    assert subscription.name == "orders.close_order"
    assert subscription.retry == Retry()
    assert not subscription.ordered


def test_on_names_the_event_and_sets_the_retry_and_the_order() -> None:
    retry = Retry(attempts=3)
    handler = on(Returned, refund_order, retry=retry, ordered=True)
    assert handler == Handler(Returned, refund_order, retry, True)
    orders = Module("orders", listens_to=["shipping"], handlers=[close_order, handler])
    shipped, returned = orders.subscriptions
    assert (shipped.event_type, returned.event_type) == (Shipped, Returned)
    assert (returned.retry, returned.ordered) == (retry, True)


def test_both_forms_mix_and_the_app_checks_them_alike() -> None:
    orders = Module("orders", listens_to=["shipping"], handlers=[close_order])

    @orders.on(Returned)
    async def reopen_order(event: Returned) -> None:
        """Handle a return."""

    app = App("t", modules=[orders, Module("shipping")])
    assert [s.name for s in app.subscriptions] == ["orders.close_order", "orders.reopen_order"]
    with pytest.raises(CompositionError, match="add 'shipping' to listens_to of module 'billing'"):
        App("t", modules=[Module("billing", handlers=[close_order]), Module("shipping")])


class Ledger:
    """A service no module provides."""


def test_a_listed_handler_asking_for_an_unknown_service_is_refused_at_composition() -> None:
    async def book_return(event: Returned, ledger: Ledger) -> None:
        """Needs a service nobody provides."""

    orders = Module("orders", listens_to=["shipping"], handlers=[book_return])
    with pytest.raises(CompositionError, match="no module provides it"):
        App("t", modules=[orders, Module("shipping")])


def untyped(event):  # type: ignore[no-untyped-def]  # what is refused
    """No annotation at all."""


async def typed_as_a_dict(event: dict[str, Any]) -> None:
    """Annotated, but not with an event."""


async def takes_nothing() -> None:
    """No parameter to receive the event."""


@pytest.mark.parametrize("handler", [untyped, typed_as_a_dict, takes_nothing])
def test_a_listed_function_without_an_event_annotation_is_refused_with_the_way_out(
    handler: Any,
) -> None:
    with pytest.raises(CompositionError) as error:
        Module("orders", handlers=[handler])
    message = str(error.value)
    assert f"handler {handler.__qualname__} is listed in handlers= without an event" in message
    assert "on(EventType, handler)" in message


def test_an_annotation_that_cannot_be_resolved_is_refused_with_the_way_out() -> None:
    async def later(event: EventPublisher) -> None:  # imported only under TYPE_CHECKING
        """Its annotation names a type unknown at run time."""

    with pytest.raises(CompositionError, match="not only under TYPE_CHECKING"):
        Module("orders", handlers=[later])


def test_a_handler_declared_twice_is_refused() -> None:
    with pytest.raises(CompositionError, match=r"handler orders\.close_order is declared twice"):
        Module("orders", handlers=[close_order, on(Shipped, close_order)])
    orders = Module("orders", handlers=[close_order])
    with pytest.raises(CompositionError, match="declared twice"):
        orders.on(Shipped)(close_order)


def test_a_handler_declared_for_one_event_but_annotated_with_another_is_refused() -> None:
    expected = (
        "handler close_order is declared for 'shipping.Returned' but its first parameter is "
        "annotated Shipped; it would receive a Returned"
    )
    with pytest.raises(CompositionError, match=expected):
        Module("orders", handlers=[on(Returned, close_order)])
    with pytest.raises(CompositionError, match=expected):
        Module("orders").on(Returned)(close_order)


class Redelivered(Shipped, name="shipping.Redelivered"):
    """A subclass of the annotated event: still a Shipped."""


async def any_event(event: Event) -> None:
    """Written for every event."""


def test_an_annotation_with_a_base_class_of_the_event_is_accepted() -> None:
    orders = Module("orders", handlers=[on(Redelivered, close_order), on(Returned, any_event)])
    assert [s.event_type for s in orders.subscriptions] == [Redelivered, Returned]
