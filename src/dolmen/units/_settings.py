"""``UnitsSettings``: the ``[units]`` section, where an app is split into deployment units."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

Transport = Literal["database", "rabbitmq", "nats", "redis"]
"""How events reach the handlers of another unit.

``database``: the units share one database and its outbox, each claiming its own handlers'
deliveries (no broker). The others relay through that broker, from one unit's outbox to
another's.
"""

UNIT_NAME = r"^[a-z][a-z0-9-]{0,39}$"


class UnitSettings(BaseModel):
    """One unit of ``[units.unit.<name>]``: the modules it runs and where the others reach it."""

    model_config = ConfigDict(extra="forbid")

    modules: list[str] = Field(
        min_length=1, description="The modules this unit runs (each module in one unit)."
    )
    url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s/?#]+/?$",
        description=(
            "Where the other units reach this one over HTTP (http://billing:8000); needed "
            "when another unit calls one of its modules' services."
        ),
    )
    replicas: int = Field(
        default=1, ge=1, le=1000, description="How many processes `dolmen deploy` asks for."
    )


class UnitsSettings(BaseModel):
    """``[units]`` in dolmen.toml (``DOLMEN__UNITS__<KEY>``): the app's deployment units.

    With no ``[units.unit.*]`` table the app is one unit holding every module. Declared
    units split it: ``dolmen run APP --unit NAME`` (or ``current``) runs one of them; with
    no unit chosen, one process runs them all, so the same tests run under every topology.
    """

    model_config = ConfigDict(extra="forbid")

    current: str | None = Field(
        default=None,
        description=(
            "The unit this process runs (`dolmen run --unit NAME` sets it); none: every "
            "unit, in one process."
        ),
    )
    unit: dict[str, UnitSettings] = Field(
        default_factory=dict,
        description='The units, by name ([units.unit.billing] modules = ["billing"]).',
    )
    secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description=(
            "The shared secret that signs calls between units (HMAC-SHA256), at least 32 "
            "characters; needed once a unit calls another."
        ),
    )
    transport: Transport = Field(
        default="database",
        description=(
            "How events cross units: database (the units share one database and outbox), "
            "rabbitmq, nats or redis (relayed through that broker, broker_url)."
        ),
    )
    broker_url: str | None = Field(
        default=None,
        description="The broker's URL (amqp://…, nats://…, redis://…) for those transports.",
    )
    broker_namespace: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{0,39}$",
        description=(
            "A prefix of this app's destinations on the broker (<namespace>-<unit>), so that "
            "several apps or environments share one broker; none: the units' names. The "
            "same in every unit."
        ),
    )
    event_partitions: int = Field(
        default=8,
        ge=1,
        le=256,
        description=(
            "Partitions of each unit's events on the broker: one subject's events stay in "
            "one, read in order by one consumer at a time; more partitions, more consumers "
            "at work. The same number in every unit."
        ),
    )
    call_timeout_seconds: float = Field(
        default=5.0, gt=0, le=300, description="How long a call to another unit may take."
    )
    call_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description=(
            "Retries of a call to another unit: after a failure to connect (it never left), "
            "and, for methods marked @idempotent only, after a timeout or a 502/503/504."
        ),
    )
