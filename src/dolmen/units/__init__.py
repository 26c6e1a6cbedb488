"""Deployment units: the same app as one process or split into several services.

``[units]`` in the configuration names the units and the modules each one runs
(:class:`UnitsSettings`); :class:`Topology` is that plan checked against the app's modules.
:class:`Units`, the extension every ``App`` has, runs the chosen unit's modules in this
process (``dolmen run --unit NAME``); ``dolmen units APP`` prints the topology.
:class:`RemoteCalls` carries a module's calls to the modules of other units over HTTP;
:func:`idempotent` marks the methods such a call may retry.
"""

from dolmen.units._extension import Units
from dolmen.units._idempotent import idempotent
from dolmen.units._remote import RemoteCalls
from dolmen.units._settings import UnitSettings, UnitsSettings
from dolmen.units._topology import SINGLE_UNIT, CrossUnitCall, Topology, TopologyError, Unit
from dolmen.units.exceptions import (
    RemoteCallError,
    RemoteCallsUnavailable,
    RemoteCallTimeout,
    RemoteUnitUnreachable,
)

__all__ = [
    "SINGLE_UNIT",
    "CrossUnitCall",
    "RemoteCallError",
    "RemoteCallTimeout",
    "RemoteCalls",
    "RemoteCallsUnavailable",
    "RemoteUnitUnreachable",
    "Topology",
    "TopologyError",
    "Unit",
    "UnitSettings",
    "Units",
    "UnitsSettings",
    "idempotent",
]
