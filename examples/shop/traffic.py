"""Light background traffic for the demo (``dolmen demo --traffic``): customers using the shop.

Each :meth:`Traffic.step` makes one request: a product looked up (or one that does not
exist), a product added, an order placed (paid, declined by billing's charge limit, or for a
customer whose mail server misbehaves, so that notifications retry or go dead), an order
or a customer's notifications read, now and then an invalid order. The first steps follow
a script that shows each of those once, so the dashboard has something of each within
seconds; then the steps are drawn at random. :meth:`Traffic.run` takes a step every
``interval`` seconds; tests call :meth:`Traffic.step` directly, with no timer.

It talks to the shop through ``send(method, path, body)``, which returns the status and the
JSON body: over HTTP in the demo, in process in the tests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

Send = Callable[[str, str, Mapping[str, Any] | None], Awaitable[tuple[int, Any]]]
"""``await send("POST", "/orders", {...})`` -> ``(status, JSON body or None)``."""

PAYING = ["ada@example.com", "grace@example.com", "linus@example.com"]
GREYLISTED = "barbara@greylist.example"
"""Her mail server defers each first try: the notification handler's retry succeeds."""
BOUNCING = "edsger@bounce.example"
"""His mail server refuses every message: the notification goes dead (replay it later)."""
DEMO_SETTINGS = {
    "notifications": {
        "greylisting_domains": ["greylist.example"],
        "bouncing_domains": ["bounce.example"],
    }
}
"""The shop's settings for the traffic: which customers' mail servers misbehave."""
AFFORDABLE = ["KEYBOARD", "MOUSE"]
DECLINED = "MONITOR"
"""It costs more than billing's charge limit: its orders are declined."""


class Traffic:
    """A stream of shop requests, one per :meth:`step` (``seed`` makes it repeatable)."""

    def __init__(self, send: Send, *, seed: int | None = None) -> None:
        self.send = send
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        """How many of each step were taken (``order paid``, ``product added`` ...)."""
        self.statuses: Counter[int] = Counter()
        self.orders: list[str] = []
        self.skus = list(AFFORDABLE)
        self._script = iter(
            [
                self._add_product,
                self._order_paid,
                self._order_declined,
                self._order_greylisted,
                self._order_bounced,
                self._browse,
                self._missing_product,
                self._read_order,
                self._invalid_order,
                self._read_notifications,
            ]
        )
        self._numbers = itertools.count(1)

    async def step(self) -> str:
        """Make one request; return what it was."""
        action = next(self._script, None) or self._draw()
        name = await action()
        self.counts[name] += 1
        return name

    async def run(
        self,
        *,
        interval: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        until: Callable[[], bool] = lambda: False,
    ) -> None:
        """Take a step every ``interval`` seconds until ``until()``; a failed step is skipped."""
        while not until():
            try:
                await self.step()
            except (OSError, ValueError) as error:  # the shop is away (stopping) or odd
                self.counts[f"failed: {type(error).__name__}"] += 1
            await sleep(interval)

    def _draw(self) -> Callable[[], Awaitable[str]]:
        weighted = [
            (self._browse, 6),
            (self._order_paid, 5),
            (self._read_order, 4),
            (self._order_declined, 1),
            (self._order_greylisted, 1),
            (self._order_bounced, 1),
            (self._missing_product, 1),
            (self._invalid_order, 1),
            (self._read_notifications, 1),
            (self._add_product, 1),
        ]
        actions = [action for action, _ in weighted]
        chosen: Callable[[], Awaitable[str]] = self.rng.choices(
            actions, [weight for _, weight in weighted]
        )[0]
        return chosen

    async def _request(self, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        status, answer = await self.send(method, path, body)
        self.statuses[status] += 1
        return status, answer

    async def _browse(self) -> str:
        await self._request("GET", f"/catalog/products/{self.rng.choice(self.skus)}", None)
        return "product looked up"

    async def _missing_product(self) -> str:
        await self._request("GET", f"/catalog/products/NO-SUCH-{next(self._numbers)}", None)
        return "missing product"

    async def _add_product(self) -> str:
        sku = f"GADGET-{self.rng.randrange(16**6):06X}"
        price = f"{self.rng.randrange(5, 200)}.{self.rng.randrange(100):02d}"
        product = {"sku": sku, "name": f"Gadget {sku[-6:]}", "price": price, "stock": 10_000}
        status, _ = await self._request("POST", "/catalog/products", product)
        if status == 201:
            self.skus.append(sku)
        return "product added"

    async def _order(self, email: str, sku: str) -> int:
        items = [{"sku": sku, "quantity": self.rng.randint(1, 2)}]
        status, answer = await self._request(
            "POST", "/orders", {"customer_email": email, "items": items}
        )
        if status == 201 and isinstance(answer, dict):
            self.orders = [*self.orders[-49:], str(answer["id"])]
        return int(status)

    async def _order_paid(self) -> str:
        await self._order(self.rng.choice(PAYING), self.rng.choice(self.skus))
        return "order placed"

    async def _order_declined(self) -> str:
        await self._order(self.rng.choice(PAYING), DECLINED)
        return "order declined"

    async def _order_greylisted(self) -> str:
        await self._order(GREYLISTED, self.rng.choice(self.skus))
        return "order, notification retried"

    async def _order_bounced(self) -> str:
        await self._order(BOUNCING, self.rng.choice(self.skus))
        return "order, notification dead"

    async def _read_order(self) -> str:
        order = self.rng.choice(self.orders) if self.orders else "no-such-order"
        await self._request("GET", f"/orders/{order}", None)
        return "order read"

    async def _invalid_order(self) -> str:
        await self._request("POST", "/orders", {"customer_email": "nobody", "items": []})
        return "invalid order"

    async def _read_notifications(self) -> str:
        email = self.rng.choice([*PAYING, GREYLISTED])
        await self._request("GET", f"/notifications?email={email}", None)
        return "notifications read"


def http_sender(base_url: str, *, timeout: float = 10.0) -> Send:
    """A ``send`` over HTTP to ``base_url``, with the standard library (in a thread)."""

    def blocking(method: str, path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(base_url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        request.add_header("user-agent", "dolmen-demo-traffic")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())

    async def send(method: str, path: str, body: Mapping[str, Any] | None) -> tuple[int, Any]:
        return await asyncio.to_thread(blocking, method, path, body)

    return send


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
