"""The catalog's use cases."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from dolmen.events import Clock
from shop.catalog.api import NewProduct, ProductView, ReservedLine, StockRequest
from shop.catalog.domain.errors import UnknownProduct
from shop.catalog.domain.ports import ProductRepository, ReservationRepository
from shop.catalog.domain.product import Product
from shop.catalog.domain.reservation import Reservation, ReservationState, ReservedItems
from shop.catalog.settings import CatalogSettings

logger = logging.getLogger(__name__)

HELD, CONFIRMED = ReservationState.HELD, ReservationState.CONFIRMED
EXPIRED, RELEASED = ReservationState.EXPIRED, ReservationState.RELEASED


class Catalog:
    """Implements :class:`~shop.catalog.api.CatalogService` on its repositories.

    It also confirms reservations (:mod:`shop.catalog.handlers`) and gives back expired
    ones (:mod:`shop.catalog.sweeper`).
    """

    def __init__(
        self,
        products: ProductRepository,
        reservations: ReservationRepository,
        clock: Clock,
        settings: CatalogSettings,
    ) -> None:
        self.products = products
        self.reservations = reservations
        self.clock = clock
        self.settings = settings

    async def add_product(self, product: NewProduct) -> ProductView:
        """Add a product; raises DuplicateProduct if the SKU exists (the repository says so)."""
        new = Product(product.sku, product.name, product.price, product.stock)
        await self.products.add(new)
        return _view(new)

    async def get_product(self, sku: str) -> ProductView:
        """The product with this SKU; raises UnknownProduct."""
        product = await self.products.get(sku)
        if product is None:
            raise UnknownProduct(sku)
        return _view(product)

    async def reserve(
        self, requests: Sequence[StockRequest], reservation_id: str
    ) -> list[ReservedLine]:
        """Take every requested item out of stock, all or nothing, as one reservation.

        A reservation id seen before answers what it reserved then (a repeated call).
        """
        known = await self.reservations.get(reservation_id)
        if known is None:
            items = await self._take([(r.sku, r.quantity) for r in requests])
            expires_at = self.clock.now() + self.settings.reservation_seconds
            known = Reservation(reservation_id, items, expires_at)
            await self.reservations.add(known)
        return [
            ReservedLine(sku=i.sku, quantity=i.quantity, unit_price=i.unit_price)
            for i in known.items
        ]

    async def release(self, reservation_id: str) -> None:
        """Put the reservation's items back in stock, once; later calls change nothing."""
        reservation = await self.reservations.get(reservation_id)
        if reservation is None:
            return
        # Held, or confirmed meanwhile: the confirmation may commit between the read above and
        # the move, so each state is tried (one conditional UPDATE each: the database decides).
        for state in (HELD, CONFIRMED):
            if await self.reservations.move(reservation_id, state, RELEASED):
                await self._give_back(reservation.items)
                return

    async def confirm(self, reservation_id: str) -> None:
        """The order holding this reservation is placed: its stock stays taken.

        A reservation that expired first (event delivery lagged longer than
        ``reservation_seconds``) takes its stock again; InsufficientStock then leaves the
        confirmation to retries and the dead letters, where an operator sees it.
        """
        reservation = await self.reservations.get(reservation_id)
        if reservation is None:
            return  # reserved before reservations were recorded: nothing to confirm
        if await self.reservations.move(reservation_id, HELD, CONFIRMED):
            return
        # Not held any more: expired meanwhile (its stock went back), or released (its order
        # will not be paid: nothing to confirm).
        if await self.reservations.move(reservation_id, EXPIRED, CONFIRMED):
            logger.warning("reservation %s expired before its order was placed", reservation_id)
            await self._take([(i.sku, i.quantity) for i in reservation.items])

    async def release_expired(self) -> int:
        """Give back the stock of reservations nobody confirmed in time; how many there were."""
        # Every lock in the same order as the other writers take theirs: the reservations'
        # rows first (by id, as another process sweeping at once takes them), then all their
        # products at once, sorted. Giving back each reservation's products in turn took
        # product locks out of order, and PostgreSQL found deadlocks with concurrent orders.
        released = []
        for reservation_id in sorted(await self.reservations.expired(self.clock.now())):
            reservation = await self.reservations.get(reservation_id)
            if reservation is not None and await self.reservations.move(
                reservation_id, HELD, EXPIRED
            ):
                released.append(reservation)
        if released:
            await self._give_back(item for reservation in released for item in reservation.items)
        return len(released)

    async def _take(self, wanted: Sequence[tuple[str, int]]) -> list[ReservedItems]:
        found = await self.products.get_for_update(sorted({sku for sku, _ in wanted}))
        taken = []
        for sku, quantity in wanted:
            product = found.get(sku)
            if product is None:
                raise UnknownProduct(sku)
            product.reserve(quantity)
            taken.append(ReservedItems(sku, quantity, product.price))
        for product in found.values():
            await self.products.save_stock(product)
        return taken

    async def _give_back(self, items: Iterable[ReservedItems]) -> None:
        items = list(items)
        found = await self.products.get_for_update(sorted({i.sku for i in items}))
        for item in items:
            found[item.sku].release(item.quantity)  # products are never deleted
        for product in found.values():
            await self.products.save_stock(product)


def _view(product: Product) -> ProductView:
    return ProductView(sku=product.sku, name=product.name, price=product.price, stock=product.stock)
