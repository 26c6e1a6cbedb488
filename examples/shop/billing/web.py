"""The billing module's HTTP routes (mounted under ``/billing``)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from dolmen import Inject, problem_responses
from shop.billing.service import BillingService

router = APIRouter(tags=["billing"])


class PaymentOut(BaseModel):
    """The payment of an order."""

    id: str
    order_id: str
    amount: Decimal
    status: str
    reason: str | None


OrderId = Annotated[uuid.UUID, Path(description="The id of the order, as POST /orders gave it.")]


@router.get(
    "/payments/{order_id}",
    response_model=PaymentOut,
    operation_id="get_payment",
    responses=problem_responses(
        404, descriptions={404: "The order is unknown or billing has not charged it yet."}
    ),
)
async def get_payment(
    order_id: OrderId, billing: Annotated[BillingService, Inject(BillingService)]
) -> PaymentOut:
    """The payment of an order (404 until billing has charged it)."""
    payment = await billing.payment_for(str(order_id))
    if payment is None:
        raise HTTPException(404, f"order {order_id!r} has not been charged")
    return PaymentOut(
        id=payment.id,
        order_id=payment.order_id,
        amount=payment.amount,
        status=payment.status.value,
        reason=payment.reason,
    )
