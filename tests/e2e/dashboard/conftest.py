"""Browser tests of the dashboard: Debian's Chromium driven by Playwright, against a real server.

The server is ``dolmen run`` of the shop (plus a module whose handler can be made to fail, for a
real dead letter), bound to every interface: the browser reaches it on 127.0.0.1 (loopback) and
on this machine's own non-loopback address (another client, as far as the server can tell).
Playwright's own browsers are never downloaded: the tests use ``/usr/bin/chromium``
(``apt-get install chromium``). Without it or the ``playwright`` package they are skipped, and
fail in CI (``DOLMEN_TEST_REQUIRE_SERVICES=1``). Screenshots go to ``tests/.output/dashboard/``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.conftest import REQUIRE_SERVICES, fresh_postgres_database
from tests.e2e.conftest import (
    EXAMPLES,
    REPO,
    _dolmen_executable,
    _free_port,
    _server_env,
    _stop,
    all_started,
    answers_healthz,
    start_server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
OUTPUT = REPO / "tests" / ".output" / "dashboard"
TOKEN = "e2e-dashboard-token-5b1f"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail in CI where the browser must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, through Playwright.

    Module-scoped: Playwright's sync API runs an event loop in this thread while it is open,
    and ``asyncio.run`` (fresh PostgreSQL databases) fails in the tests of other modules then.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed: pip install -e '.[dev]'")
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def outside_address() -> str | None:
    """An address of this machine that is not loopback (None if it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.254", 9))  # UDP: nothing is sent, a route is chosen
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@dataclass
class DashboardShop:
    """The served shop: its loopback and outside URLs, and its working folder."""

    local: str
    outside: str
    folder: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def serve(folder: Path, database_url: str) -> Iterator[DashboardShop]:
    """``dolmen run`` of the failing shop on every interface, with a dashboard token."""
    address = outside_address()
    if address is None:
        unavailable("this machine has no non-loopback address to reach the server from")
    env = _server_env(
        database_url,
        {
            "PYTHONPATH": os.pathsep.join([str(REPO), str(EXAMPLES)]),
            "DOLMEN__OBSERVABILITY__DASHBOARD__TOKEN": TOKEN,
            "DOLMEN__OBSERVABILITY__DASHBOARD__SAMPLE_SECONDS": "1",
        },
    )
    port = _free_port()
    command = [
        _dolmen_executable(), "run", "tests.e2e.dashboard.failing_shop:app",
        "--app-dir", str(REPO), "--host", "0.0.0.0", "--port", str(port),
    ]  # fmt: skip
    log_path = folder / "server.log"
    process = start_server(command, folder, env, log_path)
    shop = DashboardShop(
        f"http://127.0.0.1:{port}", f"http://{address}:{port}", folder, process, log_path
    )
    try:
        started = answers_healthz(shop.local, process) and all_started(log_path, process, 1)
        if not started:
            pytest.fail(f"the shop did not start; its output:\n{shop.output()}")
        yield shop
    finally:
        _stop(process)
    if process.returncode not in (0, -15) or "Application shutdown complete" not in shop.output():
        pytest.fail(f"the shop did not shut down cleanly; its output:\n{shop.output()}")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def dashboard_shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DashboardShop]:
    """The shop with its dashboard, on SQLite and on PostgreSQL."""
    folder = tmp_path_factory.mktemp(f"dashboard-{request.param}")
    if request.param == "sqlite":
        with serve(folder, f"sqlite:///{folder / 'shop.db'}") as shop:
            yield shop
        return
    # Playwright's sync API runs an event loop in this thread (the browser may start first):
    # the database is made and dropped by another thread, with its own loop.
    database = fresh_postgres_database("dolmen_e2e")
    with ThreadPoolExecutor(1) as other:
        url = other.submit(database.__enter__).result()
        try:
            with serve(folder, url) as shop:
                yield shop
        finally:
            other.submit(database.__exit__, None, None, None).result()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Path:
    """Where this test saves its screenshot (kept after the run, ignored by git)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return OUTPUT / f"{name}.png"
