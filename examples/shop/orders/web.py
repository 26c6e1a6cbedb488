"""The orders module's HTTP routes (mounted under ``/orders``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from dolmen import Inject
from shop.orders.domain.order import Order
from shop.orders.service import OrderService, PlaceOrder

router = APIRouter(tags=["orders"])

Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class OrderItemIn(BaseModel):
    """One line of a new order."""

    sku: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0, le=10_000)]


class PlaceOrderIn(BaseModel):
    """The body of ``POST /orders``."""

    customer_email: Email
    items: Annotated[list[OrderItemIn], Field(min_length=1, max_length=100)]


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


@router.post("", status_code=201, response_model=OrderOut)
async def place_order(
    body: PlaceOrderIn, orders: Annotated[OrderService, Inject(OrderService)]
) -> OrderOut:
    """Place an order: 404 for an unknown SKU, 409 when stock is short."""
    command = PlaceOrder.model_validate(body.model_dump())
    return _out(await orders.place_order(command))


@router.get("/{order_id}", response_model=OrderOut)
async def get_order(
    order_id: str, orders: Annotated[OrderService, Inject(OrderService)]
) -> OrderOut:
    """One order; its status moves from pending to paid or payment_failed."""
    return _out(await orders.get(order_id))


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
