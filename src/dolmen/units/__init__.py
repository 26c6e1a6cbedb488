"""Deployment units: the same app as one process or split into several services.

``[units]`` in the configuration names the units and the modules each one runs
(:class:`UnitsSettings`); :class:`Topology` is that plan checked against the app's modules.
:class:`Units`, the extension every ``App`` has, runs the chosen unit's modules in this
process (``dolmen run --unit NAME``); ``dolmen units APP`` prints the topology.
"""

from dolmen.units._extension import Units
from dolmen.units._settings import UnitSettings, UnitsSettings
from dolmen.units._topology import SINGLE_UNIT, CrossUnitCall, Topology, TopologyError, Unit

__all__ = [
    "SINGLE_UNIT",
    "CrossUnitCall",
    "Topology",
    "TopologyError",
    "Unit",
    "UnitSettings",
    "Units",
    "UnitsSettings",
]
