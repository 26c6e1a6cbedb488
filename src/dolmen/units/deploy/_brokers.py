"""The brokers ``dolmen deploy compose`` runs beside the units: official images, health-checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Broker:
    """A broker service: its image and how Compose knows it is up, and how units reach it."""

    service: str
    image: str
    url: str
    """The URL the units use, on the Compose network (``${VAR}`` for a password)."""
    healthcheck: tuple[str, ...]
    command: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    volume: str | None = None
    """Where the broker keeps its data, in a named volume (None: in memory)."""
    variables: tuple[str, ...] = ()
    """The variables the user must provide (in the environment or a .env file)."""

    def compose_service(self) -> dict[str, Any]:
        """The service entry of the Compose file."""
        service: dict[str, Any] = {"image": self.image}
        if self.command:
            service["command"] = list(self.command)
        if self.environment:
            service["environment"] = dict(sorted(self.environment.items()))
        service["healthcheck"] = {
            "interval": "5s",
            "retries": 12,
            "start_period": "10s",
            "test": ["CMD", *self.healthcheck],
            "timeout": "5s",
        }
        service["restart"] = "unless-stopped"
        if self.volume is not None:
            service["volumes"] = [f"{self.service}-data:{self.volume}"]
        return dict(sorted(service.items()))


def required(name: str, why: str) -> str:
    """``${NAME:?why}``: Compose stops with ``why`` when the variable is unset or empty."""
    return f"${{{name}:?{why}}}"


RABBITMQ_PASSWORD = required("RABBITMQ_PASSWORD", "set RABBITMQ_PASSWORD: see the top of this file")

BROKERS = {
    "rabbitmq": Broker(
        service="rabbitmq",
        image="rabbitmq:3.13",
        url=f"amqp://dolmen:{RABBITMQ_PASSWORD}@rabbitmq:5672/",
        healthcheck=("rabbitmq-diagnostics", "-q", "ping"),
        # The image's default user, guest, may only connect from inside its own container.
        environment={"RABBITMQ_DEFAULT_PASS": RABBITMQ_PASSWORD, "RABBITMQ_DEFAULT_USER": "dolmen"},
        volume="/var/lib/rabbitmq",
        variables=("RABBITMQ_PASSWORD",),
    ),
    "nats": Broker(
        service="nats",
        # The alpine variant: the default image has no shell nor wget for the health check.
        image="nats:2.10-alpine",
        url="nats://nats:4222",
        healthcheck=(
            "wget",
            "-q",
            "--spider",
            "http://127.0.0.1:8222/healthz?js-enabled-only=true",
        ),
        command=("--jetstream", "--store_dir", "/data", "--http_port", "8222"),
        volume="/data",
    ),
    "redis": Broker(
        service="redis",
        image="redis:7",
        url="redis://redis:6379/0",
        healthcheck=("redis-cli", "ping"),
        command=("redis-server", "--appendonly", "yes"),
        volume="/data",
    ),
}
"""The broker of each transport that needs one."""
