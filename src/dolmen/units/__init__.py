"""Deployment units: the same app as one process or split into several services.

``[units]`` in the configuration names the units and the modules each one runs
(:class:`UnitsSettings`); :class:`Topology` is that plan checked against the app's modules.
:class:`Units`, the extension every ``App`` has, runs the chosen unit's modules in this
process (``dolmen run --unit NAME``); ``dolmen units APP`` prints the topology.
:class:`RemoteCalls` carries a module's calls to the modules of other units over HTTP;
:func:`idempotent` marks the methods such a call may retry.
Events cross units through a :class:`Transport` (a broker): a :class:`Relay` sends a unit's
events from its outbox, an :class:`Intake` takes them into the receiving unit's outbox;
:class:`UnitLag` is what waits on the way (``Units.lag``, the metrics, the dashboard).
"""

from dolmen.units._broker import BrokerEvents
from dolmen.units._broker import destination as broker_destination
from dolmen.units._extension import Units
from dolmen.units._idempotent import idempotent
from dolmen.units._intake import KEEP_RECEIVED_SECONDS, Intake, LocalHandler
from dolmen.units._lag import Backlog, Forwarding, LagProbe, MeasuresLag, UnitLag
from dolmen.units._relay import FORWARD_RETRY, Relay, forward_handler
from dolmen.units._remote import RemoteCalls
from dolmen.units._settings import UnitSettings, UnitsSettings
from dolmen.units._topology import SINGLE_UNIT, CrossUnitCall, Topology, TopologyError, Unit
from dolmen.units._transports._factory import transport_for
from dolmen.units._transports._memory import InMemoryBroker, InMemoryTransport
from dolmen.units._transports._nats import NatsTransport
from dolmen.units._transports._port import (
    DEFAULT_PARTITIONS,
    OnBatch,
    Transport,
    TransportError,
    TransportSubscription,
    partition_of,
)
from dolmen.units._transports._rabbitmq import RabbitMQTransport
from dolmen.units._transports._redis import RedisTransport
from dolmen.units.exceptions import (
    RemoteCallError,
    RemoteCallsUnavailable,
    RemoteCallTimeout,
    RemoteUnitUnreachable,
)

__all__ = [
    "DEFAULT_PARTITIONS",
    "FORWARD_RETRY",
    "KEEP_RECEIVED_SECONDS",
    "SINGLE_UNIT",
    "Backlog",
    "BrokerEvents",
    "CrossUnitCall",
    "Forwarding",
    "InMemoryBroker",
    "InMemoryTransport",
    "Intake",
    "LagProbe",
    "LocalHandler",
    "MeasuresLag",
    "NatsTransport",
    "OnBatch",
    "RabbitMQTransport",
    "RedisTransport",
    "Relay",
    "RemoteCallError",
    "RemoteCallTimeout",
    "RemoteCalls",
    "RemoteCallsUnavailable",
    "RemoteUnitUnreachable",
    "Topology",
    "TopologyError",
    "Transport",
    "TransportError",
    "TransportSubscription",
    "Unit",
    "UnitLag",
    "UnitSettings",
    "Units",
    "UnitsSettings",
    "broker_destination",
    "forward_handler",
    "idempotent",
    "partition_of",
    "transport_for",
]
