"""A payment gateway for development and tests: declines charges above a limit."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from shop.billing.domain.payment import ChargeResult
from shop.billing.settings import BillingSettings


class FakePaymentGateway:
    """Approves charges up to ``charge_limit`` and declines the rest, after a simulated delay.

    Like a real provider, it treats ``reference`` as an idempotency key: charging the same
    reference again (a retried event handler) returns the first answer and charges nothing.
    """

    def __init__(self, settings: BillingSettings) -> None:
        self.limit = settings.charge_limit
        self.latency = settings.gateway_latency_ms / 1000
        self.charges: dict[str, ChargeResult] = {}

    async def charge(self, reference: str, amount: Decimal) -> ChargeResult:
        """Charge ``amount`` once per ``reference`` (nothing real happens)."""
        if self.latency:
            await asyncio.sleep(self.latency)
        if reference in self.charges:
            return self.charges[reference]
        if amount > self.limit:
            reason = f"amount {amount} exceeds the limit {self.limit}"
            result = ChargeResult(False, decline_reason=reason)
        else:
            result = ChargeResult(True, transaction_id=f"fake-{uuid.uuid4()}")
        self.charges[reference] = result
        return result
