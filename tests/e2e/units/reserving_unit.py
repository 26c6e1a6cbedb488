"""A unit of the shop split in two (catalog / the rest), with test controls, for
test_units_reservations.py.

``python reserving_unit.py UNIT PORT DATABASE_URL CATALOG_URL CONTROLS`` serves unit
``catalog`` or ``orders`` (orders, billing, notifications) of ``tests/units_calls.py`` on
127.0.0.1:PORT. ``CONTROLS`` is a folder through which the test steers it, never by timing:

- the catalog's clock runs ``CONTROLS/clock-offset`` seconds (a float) ahead of the real one,
  so the test moves time past a reservation's expiry when it chooses;
- in the orders unit, an order of a customer whose email starts with ``crash`` stops for good
  once its stock is reserved, before the order is stored, after writing ``CONTROLS/reserved``:
  the moment the test kills the process.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import uvicorn
from shop.orders.adapters.repository import SqlOrderRepository
from shop.orders.domain.order import Order

from dolmen.events import Clock
from tests.units_calls import unit_app


class ShiftedClock:
    """The real clock plus the offset the test writes."""

    def __init__(self, offset: Path) -> None:
        self.offset = offset

    def now(self) -> float:
        text = self.offset.read_text() if self.offset.exists() else ""
        return time.time() + float(text or 0)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:  # unused by catalog
        raise NotImplementedError


def stop_after_reserving(controls: Path) -> None:
    """Orders of ``crash…`` customers block between the reservation and the order's insert."""
    add = SqlOrderRepository.add

    async def add_or_block(self: SqlOrderRepository, order: Order) -> None:
        if order.customer_email.startswith("crash"):
            (controls / "reserved").write_text(order.id)
            await asyncio.Event().wait()  # until SIGKILL
        await add(self, order)

    SqlOrderRepository.add = add_or_block  # type: ignore[method-assign]


def main() -> None:
    unit, port, database_url, catalog_url = sys.argv[1], int(sys.argv[2]), *sys.argv[3:5]
    controls = Path(sys.argv[5])
    config = {
        "app": {"database_url": database_url, "database_schema": "create"},
        "observability": {"configure_logging": False, "access_log": False},
        "catalog": {"sweep_seconds": 0.1},
    }
    app, _ = unit_app(unit, database_url, catalog_url=catalog_url, config=config)
    if unit == "orders":
        stop_after_reserving(controls)
    with app.override(Clock, ShiftedClock(controls / "clock-offset")):
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main()
