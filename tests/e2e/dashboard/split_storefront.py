"""The shop's storefront unit, split from billing and notifications, over a broker the test plays.

:func:`served_storefront` serves it with uvicorn in a thread of the test process (no process to
start: the browser's module reuses its Chromium and the test reaches into the app), its events
across units going through :class:`ScriptedBroker`: a test double of a transport that stores
nothing and says what waits on it for each unit as the test sets it, or does not answer at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from dolmen import App
from dolmen.events import Envelope
from dolmen.observability import Observability
from dolmen.units import OnBatch, TransportError, TransportSubscription, Units
from tests.e2e.conftest import EXAMPLES
from tests.waiting import wait_until


@dataclass
class ScriptedBroker:
    """A transport whose lag is what the test says (``waiting``, per destination and partition);
    while ``answers`` is False every request to it fails, as with a broker that is down."""

    waiting: dict[str, dict[int, int]] = field(default_factory=dict)
    answers: bool = True
    sent: list[tuple[str, int]] = field(default_factory=list)

    def _check(self) -> None:
        if not self.answers:
            raise TransportError("the scripted broker does not answer (ScriptedBroker.answers)")

    async def open(self) -> None:
        self._check()

    async def close(self) -> None:
        return None

    async def ping(self) -> None:
        self._check()

    async def send(self, destination: str, envelopes: Sequence[Envelope]) -> None:
        self._check()
        self.sent.append((destination, len(envelopes)))

    async def subscribe(self, destination: str, on_batch: OnBatch) -> TransportSubscription:
        return _Subscription()

    async def lag(self, destination: str) -> Mapping[int, int]:
        self._check()
        return dict(self.waiting.get(destination, {}))


class _Subscription:
    async def stop(self) -> None:
        return None


@dataclass
class Storefront:
    """The served unit: its URL, its app and its broker."""

    url: str
    app: App
    broker: ScriptedBroker

    def fresh(self) -> None:
        """Make the dashboard's next state read the outbox and ask the broker again (both are
        cached for a few seconds)."""
        units = next(e for e in self.app.extensions if isinstance(e, Units))
        assert units.lag_probe is not None  # a unit of a split app
        units.lag_probe.cache_seconds = 0.0
        observability = next(e for e in self.app.extensions if isinstance(e, Observability))
        assert observability.requests.dashboard is not None
        observability.requests.dashboard.events.forget()


@contextlib.contextmanager
def served_storefront(folder: Path, broker: ScriptedBroker) -> Iterator[Storefront]:
    """The storefront unit on a SQLite file in ``folder``, served on a free port of 127.0.0.1."""
    config = {
        "app": {"database_url": f"sqlite:///{folder / 'storefront.db'}"},
        "units": {
            "current": "storefront",
            "transport": "redis",  # any broker: the extension below makes the transport
            "broker_url": "redis://unused",
        },
        "observability": {"configure_logging": False},
    }
    from shop.app import create_app

    modules = create_app().modules
    app = App(
        "shop",
        modules=modules,
        config=config,
        config_dir=EXAMPLES / "shop",
        extensions=[Units(transport=lambda settings: broker)],
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
    )
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), "the storefront started", 30)
        assert server.started, "uvicorn stopped before it started"
        port = server.servers[0].sockets[0].getsockname()[1]
        storefront = Storefront(f"http://127.0.0.1:{port}", app, broker)
        storefront.fresh()
        yield storefront
    finally:
        server.should_exit = True
        thread.join(30)
