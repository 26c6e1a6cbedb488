"""The ``[units]`` section checked against the app's modules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from dolmen.units import SINGLE_UNIT, CrossUnitCall, Topology, TopologyError, UnitsSettings

SECRET = "s" * 32


@dataclass(frozen=True)
class _Module:
    name: str
    depends_on: Sequence[str] = field(default_factory=tuple)


SHOP = [
    _Module("catalog"),
    _Module("orders", ("catalog",)),
    _Module("billing"),
    _Module("notifications"),
]


def _topology(units: Mapping[str, Any]) -> Topology:
    return Topology.of(UnitsSettings.model_validate(units), SHOP)


def _problems(units: Mapping[str, Any]) -> list[str]:
    with pytest.raises(TopologyError) as raised:
        _topology(units)
    return raised.value.problems


SPLIT = {
    "secret": SECRET,
    "unit": {
        "storefront": {"modules": ["catalog", "orders"]},
        "billing": {"modules": ["billing"]},
        "notifications": {"modules": ["notifications"]},
    },
}


def test_no_units_is_one_unit_running_every_module() -> None:
    topology = _topology({})

    assert [u.name for u in topology.units] == [SINGLE_UNIT]
    assert topology.local_modules == {"catalog", "orders", "billing", "notifications"}
    assert not topology.split
    assert topology.calls == ()


def test_a_chosen_unit_runs_only_its_modules() -> None:
    topology = _topology({**SPLIT, "current": "storefront"})

    assert topology.split
    assert topology.local_modules == {"catalog", "orders"}
    assert topology.is_local("orders")
    assert not topology.is_local("billing")
    assert topology.unit_of("billing").name == "billing"


def test_no_unit_chosen_runs_every_unit_in_one_process() -> None:
    assert _topology(SPLIT).local_modules == {"catalog", "orders", "billing", "notifications"}


def test_calls_across_units_are_listed_and_need_a_url_and_the_secret() -> None:
    rest = {"modules": ["orders", "billing", "notifications"]}
    units: dict[str, Any] = {"unit": {"store": {"modules": ["catalog"]}, "rest": rest}}

    problems = _problems(units)

    assert any("unit 'store' is called by other units (orders -> catalog)" in p for p in problems)
    assert any("secret is not set" in p for p in problems)
    units["unit"]["store"]["url"] = "http://catalog:8000"
    topology = _topology({**units, "secret": SECRET})
    assert topology.calls == (CrossUnitCall("orders", "rest", "catalog", "store"),)


def test_every_misplaced_module_is_reported_at_once() -> None:
    problems = _problems(
        {
            "current": "bill",
            "unit": {
                "a": {"modules": ["catalog", "orders", "billng"]},
                "b": {"modules": ["orders", "billing"]},
            },
        }
    )

    assert problems == [
        "unit 'a' lists module 'billng', which the app does not have (did you mean 'billing'?)",
        "module 'orders' is in units 'a' and 'b': put it in one of them",
        "module 'notifications' is in no unit: add it to the modules of one",
        "current = 'bill' is not a unit (it has 'a', 'b')",
    ]


def test_a_broker_transport_needs_its_url() -> None:
    problems = _problems({**SPLIT, "transport": "nats"})

    assert problems == [
        "transport = 'nats' needs broker_url (the broker's address, e.g. nats://127.0.0.1:4222)"
    ]


def test_a_unit_chosen_without_units_declared_is_refused() -> None:
    assert "no unit is declared" in _problems({"current": "billing"})[0]


@pytest.mark.parametrize(
    "units",
    [
        {"unit": {"Billing": {"modules": ["billing"]}}},
        {"unit": {"b": {"modules": []}}},
        {"unit": {"b": {"modules": ["billing"], "depends": []}}},
        {"unit": {"b": {"modules": ["billing"], "url": "billing:8000"}}},
        {"secret": "short"},
        {"transport": "kafka"},
    ],
)
def test_malformed_units_are_refused(units: Mapping[str, Any]) -> None:
    with pytest.raises((ValidationError, TopologyError)):
        _topology(units)
