"""Settings of event delivery: section ``[events]`` of the configuration."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EventSettings(BaseModel):
    """How this process delivers events: ``[events]`` in ``dolmen.toml``.

    Set them in ``dolmen.toml``, as ``DOLMEN__EVENTS__<KEY>``, or in code with
    ``App(config={"events": {...}})``.
    """

    model_config = ConfigDict(extra="forbid")

    dispatch: bool = Field(
        default=True,
        description="Run the dispatcher in this process. Turn it off in processes that only "
        "publish (a web tier) when other processes of the same app deliver.",
    )
    concurrency: int = Field(
        default=64, ge=1, description="Handlers running at once in this process, at most."
    )
    batch_size: int = Field(
        default=200, ge=1, description="Deliveries claimed from the outbox in one statement."
    )
    lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long a claimed delivery stays with this process without news. It is "
        "renewed while its handler runs; a process that dies gives its deliveries back "
        "when the lease runs out.",
    )
    poll_min_seconds: float = Field(
        default=0.001,
        gt=0,
        description="How soon the dispatcher looks at the outbox again while events flow "
        "(the wait doubles, up to poll_max_seconds, while it finds nothing). Where the "
        "commits of every process wake it (PostgreSQL NOTIFY, Dolmen's wake sockets on a "
        "SQLite file), it polls only for retries and missed wake-ups, backing off to "
        "poll_max_seconds.",
    )
    poll_max_seconds: float = Field(
        default=1.0,
        gt=0,
        description="Longest wait between two looks at the outbox when idle. A local commit "
        "(and PostgreSQL NOTIFY) wakes the dispatcher at once; polling finds the rest.",
    )
    keep_completed_seconds: float = Field(
        default=0.0,
        ge=0,
        description="How long completed deliveries are kept (for audit) before they are "
        "deleted. 0 deletes each one as it completes.",
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        ge=0,
        description="On shutdown, how long running handlers may finish; the deliveries of "
        "those still running then are given back, their try not counted.",
    )

    @model_validator(mode="after")
    def _polls_in_order(self) -> Self:
        if self.poll_min_seconds > self.poll_max_seconds:
            raise ValueError(
                f"poll_min_seconds ({self.poll_min_seconds}) is more than poll_max_seconds "
                f"({self.poll_max_seconds}); lower the first or raise the second"
            )
        return self
