"""``RemoteCalls``: a module's services in another unit, reached over HTTP.

Work in progress (issue 17): this is the interface the ``Units`` extension wires in; its
client side (a client generated from the service's Protocol, signed with HMAC, over httpx)
and its server side (the internal endpoints of this unit's modules) are being built.
Until then a call across units is refused with a clear error, never made in silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dolmen.units._settings import UnitsSettings
from dolmen.units._topology import Topology

if TYPE_CHECKING:
    from fastapi import APIRouter

    from dolmen.di import Interceptor


class RemoteCallsUnavailable(RuntimeError):
    """A service of a module in another unit was asked for, and remote calls are not built."""


class RemoteCalls:
    """Calls from this process's modules to the modules of other units, and their endpoints.

    ``interceptor()`` is a placement interceptor of the seam: for a service of a module this
    process does not run it returns a client and never builds the service locally.
    ``router()`` serves this unit's modules' public services to the other units (internal
    endpoints, signed, kept out of the public OpenAPI). ``start``/``stop`` open and close
    the pooled HTTP client.
    """

    def __init__(self, topology: Topology, settings: UnitsSettings, app: Any) -> None:
        self.topology = topology
        self.settings = settings
        self.app = app

    def interceptor(self) -> Interceptor:
        """The placement interceptor: local modules' services built here, others remote."""
        from dolmen.di import Interceptor, InterceptorRole

        topology = self.topology

        async def place(resolution: Any, build: Any) -> Any:
            if topology.is_local(resolution.target):
                return await build()
            raise RemoteCallsUnavailable(
                f"module {resolution.caller!r} asks for {resolution.key!r} of module "
                f"{resolution.target!r}, which runs in unit "
                f"{topology.unit_of(resolution.target).name!r}: calls across units are not "
                "available yet; put both modules in one unit"
            )

        return Interceptor("dolmen.units.placement", resolve=place, role=InterceptorRole.PLACEMENT)

    def router(self) -> APIRouter | None:
        """The internal endpoints of this unit's modules (None: nothing to serve)."""
        return None

    async def start(self) -> None:
        """Open the pooled HTTP client."""

    async def stop(self) -> None:
        """Close it."""
