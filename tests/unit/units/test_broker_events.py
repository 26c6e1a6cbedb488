"""BrokerEvents: which handlers a unit forwards, and one forwarding delivery per other unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from dolmen.events import Envelope, Retry
from dolmen.units import (
    BrokerEvents,
    InMemoryBroker,
    InMemoryTransport,
    Topology,
    TransportError,
    UnitsSettings,
    broker_destination,
    forward_handler,
)


@dataclass(frozen=True)
class _Module:
    name: str
    depends_on: tuple[str, ...] = ()


class PaymentCaptured:
    event_name: ClassVar[str] = "billing.PaymentCaptured"


@dataclass(frozen=True)
class Handler:
    module: str
    name: str
    event_type: type = PaymentCaptured
    retry: Retry = field(default_factory=Retry)
    ordered: bool = False


HANDLERS = [
    Handler("billing", "billing.audit"),
    Handler("orders", "orders.mark_order_paid"),
    Handler("orders", "orders.thank_customer"),
    Handler("notifications", "notifications.notify_order_paid"),
]
UNITS = {
    "storefront": {"modules": ["catalog", "orders"]},
    "billing": {"modules": ["billing"]},
    "notifications": {"modules": ["notifications"]},
}
MODULES = [_Module("catalog"), _Module("orders"), _Module("billing"), _Module("notifications")]


def billing_unit() -> BrokerEvents:
    settings = UnitsSettings.model_validate({"current": "billing", "unit": UNITS})
    topology = Topology.of(settings, MODULES)
    return BrokerEvents(InMemoryTransport(InMemoryBroker()), topology, HANDLERS, "shop")


def test_it_takes_the_handlers_of_other_units_and_leaves_its_own_local() -> None:
    broker = billing_unit()

    assert [h.name for h in HANDLERS if broker.takes(h)] == [
        "orders.mark_order_paid", "orders.thank_customer", "notifications.notify_order_paid",
    ]  # fmt: skip
    assert list(broker.handlers) == [
        forward_handler("notifications"),
        forward_handler("storefront"),
    ]
    assert {k: [h.name for h in v] for k, v in broker.local_handlers.items()} == {
        "billing.PaymentCaptured": ["billing.audit"]
    }


def test_an_event_gets_one_forwarding_delivery_per_unit_not_per_remote_handler() -> None:
    broker = billing_unit()
    envelope = Envelope("e-1", "billing.PaymentCaptured", 1, "/shop/billing", 0.0, "{}", "o-1")

    deliveries = broker.deliveries(envelope, [h for h in HANDLERS if broker.takes(h)])

    assert [(d.handler, d.ordering_key) for d in deliveries] == [
        (forward_handler("notifications"), "o-1"),
        (forward_handler("storefront"), "o-1"),
    ]
    assert broker_destination("shop", "storefront") == "shop-storefront"
    assert broker_destination(None, "storefront") == "storefront"


async def test_a_broker_down_at_start_leaves_the_unit_not_ready_until_it_is_back() -> None:
    settings = UnitsSettings.model_validate({"current": "billing", "unit": UNITS})
    shared = InMemoryBroker()
    shared.set_reachable(False)
    broker = BrokerEvents(InMemoryTransport(shared), Topology.of(settings, MODULES), HANDLERS)

    await broker.open()  # the unit starts all the same
    with pytest.raises(TransportError, match="down"):
        await broker.ping()  # not ready
    shared.set_reachable(True)

    await broker.ping()  # ready once the broker is back
