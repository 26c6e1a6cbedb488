"""A payment gateway for development and tests: declines charges above a limit."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from shop.billing.domain.payment import ChargeResult
from shop.billing.settings import BillingSettings


class FakePaymentGateway:
    """Approves charges up to ``charge_limit`` and declines the rest, after a simulated delay."""

    def __init__(self, settings: BillingSettings) -> None:
        self.limit = settings.charge_limit
        self.latency = settings.gateway_latency_ms / 1000

    async def charge(self, reference: str, amount: Decimal) -> ChargeResult:
        """Charge ``amount`` (nothing real happens)."""
        if self.latency:
            await asyncio.sleep(self.latency)
        if amount > self.limit:
            reason = f"amount {amount} exceeds the limit {self.limit}"
            return ChargeResult(False, decline_reason=reason)
        return ChargeResult(True, transaction_id=f"fake-{uuid.uuid4()}")
