"""``RemoteCalls``: a module's services in another unit, reached over HTTP.

The ``Units`` extension makes one per app and wires its placement interceptor, its internal
endpoint (in front of the app's FastAPI) and its start and stop into the app. The caller's
side is :mod:`dolmen.units._remote_client`, the callee's :mod:`dolmen.units._remote_server`;
the contract both read from the service's Protocol is :mod:`dolmen.units._wire`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from dolmen.units._errors import DeclaredErrors
from dolmen.units._settings import UnitsSettings
from dolmen.units._signing import Verifier
from dolmen.units._topology import Topology
from dolmen.units._wire import contract_of
from dolmen.units.exceptions import RemoteCallsUnavailable

if TYPE_CHECKING:
    import httpx
    from starlette.types import ASGIApp

    from dolmen.di import CrossModuleResolution, Interceptor
    from dolmen.units._remote_client import RemoteService, Target


class ServiceWork(Protocol):
    """A unit of work as the endpoints use it: the module's services by key."""

    async def get(self, key: Any, module: str | None = None) -> Any: ...


class CallingModule(Protocol):
    """A module as remote calls see it (``dolmen.Module`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def errors(self) -> Mapping[type[BaseException], int]: ...

    @property
    def providers(self) -> Iterable[Any]: ...


class CallingApp(Protocol):
    """What remote calls need of the app (``dolmen.App`` is one)."""

    @property
    def started(self) -> bool: ...

    def unit_of_work(
        self, module: str, *, write: bool = True
    ) -> AbstractAsyncContextManager[ServiceWork]: ...

    @property
    def modules(self) -> Sequence[CallingModule]: ...


class RemoteCalls:
    """Calls from this process's modules to the modules of other units, and their endpoints.

    ``interceptor()`` is a placement interceptor of the seam: for a service of a module this
    process does not run it returns a client generated from the service's Protocol and never
    builds the service locally. ``wrap_asgi()`` serves this unit's modules' public services
    to the other units (internal endpoints, signed, kept out of the public OpenAPI), each
    call in a unit of work of its own. ``start``/``stop`` open and close the pooled HTTP client.

    ``transport`` and ``sleep`` are for tests: an httpx transport instead of the network
    (``httpx.ASGITransport(other_app)``), and the wait between retries.
    """

    def __init__(
        self,
        topology: Topology,
        settings: UnitsSettings,
        app: CallingApp,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.topology = topology
        self.settings = settings
        self.app = app
        self._local = topology.local_modules  # read on every cross-module resolution
        secret = settings.secret.get_secret_value().encode() if settings.secret else None
        self._secret = secret
        self._errors: DeclaredErrors | None = None
        from dolmen.units._remote_client import Channel  # httpx: imported when calls are

        options: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        self.channel = Channel(
            secret or b"",
            timeout=settings.call_timeout_seconds,
            retries=settings.call_retries,
            errors=self.errors,
            transport=transport,
            **options,
        )
        self._clients: dict[tuple[str, Any], RemoteService] = {}
        self._interceptor: Interceptor | None = None

    def errors(self) -> DeclaredErrors:
        """The exception types that cross units: the modules' declared errors (read once)."""
        if self._errors is None:
            self._errors = DeclaredErrors(self.app.modules)
        return self._errors

    def interceptor(self) -> Interceptor:
        """The placement interceptor: local modules' services built here, others remote."""
        if self._interceptor is None:
            from dolmen.di import Interceptor, InterceptorRole

            self._interceptor = Interceptor(
                "dolmen.units.placement", resolve=self._place, role=InterceptorRole.PLACEMENT
            )
        return self._interceptor

    async def _place(
        self, resolution: CrossModuleResolution, build: Callable[[], Awaitable[Any]]
    ) -> Any:
        if resolution.target in self._local:
            return await build()
        return self.client(resolution.target, resolution.key)

    def client(self, module: str, key: Any) -> RemoteService:
        """The client of service ``key`` of ``module`` (in another unit), made once."""
        client = self._clients.get((module, key))
        if client is None:
            from dolmen.units._remote_client import client_class

            contract = contract_of(key)
            client = client_class(contract)(self.channel, contract, self._target(module))
            self._clients[module, key] = client
        return client

    def _target(self, module: str) -> Target:
        from dolmen.units._remote_client import Target

        unit = self.topology.unit_of(module)
        if unit.url is None:
            raise RemoteCallsUnavailable(
                f"module {module!r} runs in unit {unit.name!r}, which has no url: set "
                f'[units.unit.{unit.name}] url = "http://<host>:<port>"'
            )
        if self._secret is None:
            raise RemoteCallsUnavailable(
                f"module {module!r} runs in unit {unit.name!r}, and calls between units are "
                "signed with [units] secret, which is not set: set the same random string of "
                "at least 32 characters in every unit (DOLMEN__UNITS__SECRET)"
            )
        return Target(module, unit.name, unit.url)

    def wrap_asgi(self, asgi: ASGIApp) -> ASGIApp:
        """``asgi`` with this unit's internal endpoint in front (unchanged: it serves none)."""
        if not self.topology.split:
            return asgi
        local = self.topology.local_modules
        services = [
            (module.name, provider.key)
            for module in self.app.modules
            if module.name in local
            for provider in module.providers
            if getattr(provider, "public", False)
        ]
        from dolmen.units._remote_server import CallServer  # Starlette: imported when served

        verifier = None if self._secret is None else Verifier(self._secret)
        return CallServer(self.app, services, verifier, self.errors).wrap(asgi)

    def observe(self, observer: Callable[[str, str, str, str, float], None] | None) -> None:
        """Tell ``observer(unit, module, method, outcome, seconds)`` of each call (metrics)."""
        self.channel.observer = observer

    def readiness_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """A check per unit this one calls, named ``unit:<name>``, for ``/readyz``."""
        from dolmen.units._readiness import PeerCheck

        local = self.topology.local_modules
        called = {
            call.target_unit
            for call in self.topology.calls
            if call.caller in local and call.target not in local
        }
        checks: dict[str, Callable[[], Awaitable[None]]] = {}
        for name in sorted(called):
            url = self.topology.unit(name).url
            if url is not None:
                checks[f"unit:{name}"] = PeerCheck(name, url, lambda: self.channel.client)
        return checks

    async def start(self) -> None:
        """Check every contract this unit calls (a mistake stops the start), open the client."""
        local = self.topology.local_modules
        for call in self.topology.calls:
            if call.caller in local and call.target not in local:
                for module in self.app.modules:
                    if module.name == call.target:
                        for provider in module.providers:
                            if getattr(provider, "public", False):
                                self.client(call.target, provider.key)
        self.errors()
        _ = self.channel.client

    async def stop(self) -> None:
        """Close the pooled HTTP client."""
        await self.channel.aclose()
