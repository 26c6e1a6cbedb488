"""The shop's own rules for what it accepts, without a server or a database."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from shop.catalog.api import NewProduct, Price
from shop.kernel import MAX_AMOUNT, Email
from shop.orders.domain.order import Order, OrderLine, OrderTooLarge

PRICE = TypeAdapter(Price)
EMAIL = TypeAdapter(Email)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("0.01", "0.01"),
        ("0.1", "0.10"),
        ("35", "35.00"),
        ("35.5", "35.50"),
        ("21474836.48", "21474836.48"),
        ("99999999.99", "99999999.99"),
    ],
)
def test_a_price_is_a_decimal_string_kept_to_the_cent(written: str, kept: str) -> None:
    price = PRICE.validate_json(f'"{written}"')

    assert str(price) == kept


@pytest.mark.parametrize(
    "written",
    ['"0"', '"0.00"', '"-1"', '"1.001"', '""', '" 1"', '"1e3"', '"NaN"', '"100000000"', "35"],
)
def test_a_price_that_is_not_a_positive_amount_to_the_cent_is_refused(written: str) -> None:
    with pytest.raises(ValidationError):
        PRICE.validate_json(written)


@pytest.mark.parametrize(
    "written",
    ["1", "0.5", "0.05", "10.10", "99999999.99", "0", "0.0", "0.00", "00.5", "01", "1.", ".5",
     "1.234", "100000000", "-1", "+1", "1e2", "1_000", "", " 1", "1 ", "\u0661"],
)  # fmt: skip
def test_the_price_schema_accepts_exactly_the_prices_the_shop_accepts(written: str) -> None:
    schema = PRICE.json_schema()
    assert schema["type"] == "string"

    try:
        PRICE.validate_python(written)
    except ValidationError:
        accepted = False
    else:
        accepted = True

    assert accepted == bool(re.search(schema["pattern"], written))


def test_a_price_from_python_code_may_be_a_decimal() -> None:
    product = NewProduct(sku="LAMP", name="Lamp", price=Decimal("35.5"), stock=1)

    assert product.price == Decimal("35.50")


@pytest.mark.parametrize("field", ["name", "sku"])
@pytest.mark.parametrize("character", ["\x00", "\n", "\x1b", "\x7f", "\x85"])
def test_a_product_with_a_control_character_is_refused(field: str, character: str) -> None:
    fields: dict[str, Any] = {"sku": "LAMP", "name": "Lamp", "price": "1.00", "stock": 1}
    fields[field] = f"A{character}B"

    with pytest.raises(ValidationError) as refused:
        NewProduct.model_validate(fields)

    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


@pytest.mark.parametrize("stock", [-1, 1_000_000_001, 2**31, 2**63])
def test_a_stock_out_of_bounds_is_refused(stock: int) -> None:
    with pytest.raises(ValidationError):
        NewProduct(sku="LAMP", name="Lamp", price=Decimal("1"), stock=stock)


@pytest.mark.parametrize(
    "email",
    ["ada\x00@example.com", "ada@exa\x00mple.com", "a da@example.com", "ada\x85@example.com",
     "ada@example", "ada@@example.com"],
)  # fmt: skip
def test_an_email_with_spaces_or_control_characters_is_refused(email: str) -> None:
    with pytest.raises(ValidationError):
        EMAIL.validate_python(email)


def test_an_order_may_cost_up_to_the_largest_amount() -> None:
    order = Order.place("o-1", "ada@example.com", [OrderLine("A", 1, MAX_AMOUNT)])

    assert order.total == MAX_AMOUNT


def test_an_order_costing_more_than_the_largest_amount_is_refused() -> None:
    lines = [OrderLine("A", 100, Decimal("99999999.99")), OrderLine("B", 1, Decimal("1.00"))]

    with pytest.raises(OrderTooLarge) as refused:
        Order.place("o-1", "ada@example.com", lines)

    assert refused.value.total == Decimal("10000000000.00")
    assert "9999999999.99" in str(refused.value)
