"""The orders module's HTTP routes (mounted under ``/orders``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from dolmen import Inject, problem_responses
from shop.catalog.api import Quantity, Sku
from shop.kernel import Email
from shop.orders.domain.order import MAX_LINES, Order, OrderTooLarge
from shop.orders.service import OrderService, PlaceOrder

router = APIRouter(tags=["orders"])

OrderId = Annotated[uuid.UUID, Path(description="The order's id, as POST /orders returned it.")]


class OrderItemIn(BaseModel):
    """One line of a new order."""

    sku: Sku
    quantity: Quantity


class PlaceOrderIn(BaseModel):
    """The body of ``POST /orders``."""

    customer_email: Email
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=MAX_LINES)]


class OrderLineOut(BaseModel):
    """One line of an order."""

    sku: str
    quantity: int
    unit_price: Decimal


class OrderOut(BaseModel):
    """An order and where it stands."""

    id: str
    status: str
    customer_email: str
    items: list[OrderLineOut]
    total: Decimal
    failure_reason: str | None = None


# The link tells clients (and schemathesis' stateful tests) where the new order is.
ORDER_LINKS = {
    "GetOrder": {"operationId": "get_order", "parameters": {"order_id": "$response.body#/id"}}
}


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    operation_id="place_order",
    responses={
        201: {"description": "The order, placed and pending.", "links": ORDER_LINKS},
        **problem_responses(
            404,
            409,
            descriptions={
                404: "An item's SKU is unknown; nothing was reserved.",
                409: "An item has less stock than requested; nothing was reserved.",
            },
        ),
    },
)
async def place_order(
    body: PlaceOrderIn, orders: Annotated[OrderService, Inject(OrderService)]
) -> OrderOut:
    """Place an order: 404 for an unknown SKU, 409 when stock is short.

    422 when it would cost more than one payment may; nothing is reserved then.
    """
    command = PlaceOrder.model_validate(body.model_dump())
    try:
        return _out(await orders.place_order(command))
    except OrderTooLarge as error:
        # The total is known only once the catalog priced the items; it is still the items'
        # fault, so the client hears it like any other invalid field.
        raise RequestValidationError(
            [{"type": "order_too_large", "loc": ("body", "items"), "msg": str(error)}]
        ) from error


@router.get(
    "/{order_id}",
    response_model=OrderOut,
    operation_id="get_order",
    responses=problem_responses(404, descriptions={404: "No order has this id."}),
)
async def get_order(
    order_id: OrderId, orders: Annotated[OrderService, Inject(OrderService)]
) -> OrderOut:
    """One order; its status moves from pending to paid or payment_failed."""
    return _out(await orders.get(str(order_id)))


def _out(order: Order) -> OrderOut:
    return OrderOut(
        id=order.id,
        status=order.status.value,
        customer_email=order.customer_email,
        items=[
            OrderLineOut(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
            for line in order.lines
        ],
        total=order.total,
        failure_reason=order.failure_reason,
    )
