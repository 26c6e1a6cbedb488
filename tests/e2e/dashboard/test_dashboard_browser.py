"""The dashboard in a real browser against a real server: it loads with no console error, its
numbers move after traffic, a dead letter is replayed with its button, and a client off
loopback is refused without the token and let in with it. Each test saves a screenshot.

The page asks the server for its state every 3 s. Where a test waits for what a later answer
shows, it drives the page's clock (Playwright's fake timers, installed on every page) 3 s
ahead instead of waiting for them: the page asks again at once, as it would have by itself.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.dashboard.conftest import TOKEN, DashboardShop
from tests.e2e.dashboard.failing_shop import CARRIER_DOWN, UNDELIVERABLE
from tests.e2e.dashboard.split_storefront import ScriptedBroker, served_storefront

WAIT_MS = 20_000  # the server samples every second, the page polls every three
REFRESH_MS = 3_000  # how often the page asks for the state (dashboard.js)
LOOK_MS = 300  # how long to look for what is awaited before making the page ask again


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A fresh page, with every console error, uncaught exception and failed load it has."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    context.clock.install()  # time flows as usual until a test drives it ahead
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)

    def on_response(response: Response) -> None:
        if response.status >= 400:  # Chromium logs it as an error too, without its address
            errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("response", on_response)
    try:
        yield page, errors
    finally:
        context.close()


def place_orders(url: str, count: int, email: str | None = None) -> None:
    """Add a product and place ``count`` orders of it through the shop's API at ``url``."""
    sku = f"SKU-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=url, timeout=10) as http:
        product = {"sku": sku, "name": "Lamp", "price": "12.50", "stock": 100}
        assert http.post("/catalog/products", json=product).status_code == 201
        for _ in range(count):
            body = {
                "customer_email": email or f"c-{uuid.uuid4().hex[:6]}@example.com",
                "items": [{"sku": sku, "quantity": 1}],
            }
            assert http.post("/orders", json=body).status_code == 201


def refreshed_until(tab: Page, shown: Callable[[float], object]) -> None:
    """Wait until ``shown(timeout_ms)`` returns (it raises Playwright's timeout error until
    then), making the page ask the server for its state again each time it is not yet
    shown: its clock driven to its next refresh. Fails after WAIT_MS."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            shown(LOOK_MS)
            return
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
        tab.clock.fast_forward(REFRESH_MS)


def requests_shown(page: Page, route: str) -> int:
    """The request count the routes table shows for ``route`` (0 when it has no line)."""
    cells = page.locator(f'#routes tr[data-route="{route}"] td:nth-child(4)')
    return int(cells.inner_text()) if cells.count() else 0


def test_the_dashboard_loads_with_no_console_error_and_its_numbers_move(
    dashboard_shop: DashboardShop, page: tuple[Page, list[str]], screenshot: Path
) -> None:
    tab, errors = page
    response = tab.goto(f"{dashboard_shop.local}/_dolmen/")
    assert response is not None
    assert response.status == 200
    tab.wait_for_selector("#status:text-matches('updated')", timeout=WAIT_MS)
    before = requests_shown(tab, "POST /orders")
    place_orders(dashboard_shop.local, 5)
    refreshed_until(
        tab,
        lambda ms: tab.wait_for_function(
            """([route, count]) => {
                const row = document.querySelector(`#routes tr[data-route="${route}"]`);
                return row !== null && Number(row.children[3].textContent) >= count;
            }""",
            arg=["POST /orders", before + 5],
            timeout=ms,
        ),
    )
    assert requests_shown(tab, "POST /orders") >= before + 5
    orders_rate = tab.locator('#module-cards [data-module="orders"] .rate').inner_text()
    assert float(orders_rate) > 0
    tab.wait_for_selector('#graph-svg path[data-edge="orders>catalog:call"]:not(.idle)')
    tab.wait_for_selector('#graph-svg path[data-edge="orders>billing:event"]')
    tab.wait_for_selector('#config-table tr[data-key="observability.dashboard.token"]')
    token = tab.locator('#config-table tr[data-key="observability.dashboard.token"] td')
    assert token.nth(1).inner_text() == "********"
    assert TOKEN not in tab.content()
    first = tab.locator("#trace-list tr[data-trace]").first  # failed and slow ones first
    first.click()
    tab.wait_for_selector("#waterfall .span-row")
    assert tab.locator("#waterfall .span-row").count() >= 1
    tab.screenshot(path=str(screenshot), full_page=True)
    assert errors == []


def test_a_dead_letter_is_replayed_with_its_button(
    dashboard_shop: DashboardShop, page: tuple[Page, list[str]], screenshot: Path
) -> None:
    tab, errors = page
    flag = dashboard_shop.folder / CARRIER_DOWN
    flag.touch()
    try:
        place_orders(
            dashboard_shop.local, 1, email=f"{UNDELIVERABLE}{uuid.uuid4().hex[:6]}@example.com"
        )
        tab.goto(f"{dashboard_shop.local}/_dolmen/#events")
        row = tab.locator('#dead-letters tr[data-dead-letter]:has-text("shipping.ship_order")')
        refreshed_until(tab, lambda ms: row.first.wait_for(timeout=ms))
    finally:
        flag.unlink()
    letter = row.first.get_attribute("data-dead-letter")
    tab.screenshot(path=str(screenshot.with_stem(screenshot.stem + "-before")), full_page=True)
    row.first.locator("button.replay").click()
    tab.wait_for_selector(f"#action-message:text-is('dead letter {letter}: replayed')")
    tab.wait_for_selector(f'#dead-letters tr[data-dead-letter="{letter}"]', state="detached")
    with httpx.Client(base_url=dashboard_shop.local, timeout=10) as http:
        state = http.get("/_dolmen/api/state").json()
    assert letter not in {str(d["id"]) for d in state["events"]["dead_letters"]}
    tab.screenshot(path=str(screenshot), full_page=True)
    assert errors == []


def test_a_dead_letter_is_discarded_with_its_button_once_confirmed(
    dashboard_shop: DashboardShop, page: tuple[Page, list[str]], screenshot: Path
) -> None:
    tab, errors = page
    flag = dashboard_shop.folder / CARRIER_DOWN
    flag.touch()
    try:
        place_orders(
            dashboard_shop.local, 1, email=f"{UNDELIVERABLE}{uuid.uuid4().hex[:6]}@example.com"
        )
        tab.goto(f"{dashboard_shop.local}/_dolmen/#events")
        row = tab.locator('#dead-letters tr[data-dead-letter]:has-text("shipping.ship_order")')
        refreshed_until(tab, lambda ms: row.first.wait_for(timeout=ms))
    finally:
        flag.unlink()
    letter = row.first.get_attribute("data-dead-letter")
    tab.once("dialog", lambda dialog: dialog.dismiss())  # "Discard ... for good?" - no
    row.first.locator("button.discard").click()
    assert tab.locator(f'#dead-letters tr[data-dead-letter="{letter}"]').count() == 1
    tab.once("dialog", lambda dialog: dialog.accept())
    row.first.locator("button.discard").click()
    tab.wait_for_selector(f"#action-message:text-is('dead letter {letter}: discarded')")
    tab.wait_for_selector(f'#dead-letters tr[data-dead-letter="{letter}"]', state="detached")
    tab.screenshot(path=str(screenshot), full_page=True)
    assert errors == []


def test_off_loopback_a_request_without_the_token_is_refused(
    dashboard_shop: DashboardShop,
    browser: Browser,
    page: tuple[Page, list[str]],
    screenshot: Path,
) -> None:
    stranger = browser.new_context()  # its own cookies; its failed loads are expected
    try:
        refused = stranger.new_page().goto(f"{dashboard_shop.outside}/_dolmen/")
        assert refused is not None
        assert refused.status == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "with its token" in refused.json()["detail"]
    finally:
        stranger.close()
    with httpx.Client(base_url=dashboard_shop.outside, timeout=10) as http:
        assert http.get("/_dolmen/api/state").status_code == 403
        forged = http.post("/_dolmen/api/dead-letters/1/discard", headers={"X-Dolmen-CSRF": "x"})
        assert forged.status_code == 403
    tab, errors = page
    opened = tab.goto(f"{dashboard_shop.outside}/_dolmen/?token={TOKEN}")
    assert opened is not None
    assert opened.status == 200
    assert tab.url == f"{dashboard_shop.outside}/_dolmen/"  # the token left the address bar
    tab.wait_for_selector("#status:text-matches('updated')", timeout=WAIT_MS)
    assert tab.locator("#module-cards .card").count() >= 4
    tab.screenshot(path=str(screenshot), full_page=True)
    assert errors == []


def test_the_across_units_table_shows_what_the_unit_s_lag_says_and_unknown_without_broker(
    browser: Browser,
    page: tuple[Page, list[str]],
    screenshot: Path,
    tmp_path: Path,
) -> None:
    # The storefront sends events to billing and notifications, and takes events in itself.
    broker = ScriptedBroker(waiting={"billing": {0: 2, 5: 1}, "storefront": {3: 4, 7: 0}})
    with served_storefront(tmp_path, broker) as storefront:
        tab, errors = page
        tab.goto(f"{storefront.url}/_dolmen/#events")
        waiting = '#units-lag-table td[data-waiting="{}"]'.format
        tab.wait_for_selector(f"{waiting('billing')}:text-is('3')", timeout=WAIT_MS)
        rows = tab.locator("#units-lag-table tbody tr")
        cells = rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))")
        none = "\N{EN DASH}"  # what the table shows where a number does not apply
        assert cells == [
            ["billing", "0", none, "3", "0: 2, 5: 1"],  # nothing waits here to be sent to it
            ["notifications", "0", none, "0", ""],  # no partition holds anything
            ["storefront (this unit)", none, none, "4", "3: 4, 7: 0"],  # it sends nothing to itself
        ]
        assert "over redis" in tab.locator("#units-about").inner_text()

        broker.answers = False  # the broker is down: an order's event waits in the outbox
        place_orders(storefront.url, 1)
        storefront.fresh()
        tab.reload()
        tab.wait_for_selector(f"{waiting('billing')}:text-is('unknown')", timeout=WAIT_MS)
        billing = tab.locator('#units-lag-table tr[data-unit="billing"] td')
        assert billing.nth(1).inner_text() == "1"  # its forwarding delivery, to be sent
        assert "does not answer" in billing.nth(4).inner_text()  # why it is unknown
        for unit in ("notifications", "storefront"):
            assert tab.locator(waiting(unit)).inner_text() == "unknown"
        tab.screenshot(path=str(screenshot), full_page=True)
        assert errors == []
