"""``ObservabilitySettings``: the ``[observability]`` section of the configuration."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dolmen.observability._dashboard import DashboardSettings

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

CONSOLE_ENVIRONMENTS = frozenset({"dev"})
"""The environments whose logs are a readable console by default (``log_format = "auto"``)."""


class ObservabilitySettings(BaseModel):
    """``[observability]`` in dolmen.toml (``DOLMEN__OBSERVABILITY__<KEY>``).

    Logs, metrics and traces are on for every app with no set-up: JSON lines, or a readable
    console in the ``dev`` environment, with the request, module and event of each line;
    Prometheus metrics at ``/metrics``; spans kept for the dashboard.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        default=True,
        description=(
            "Dolmen's log set-up, access log and metrics; false leaves them all out entirely."
        ),
    )
    configure_logging: bool = Field(
        default=True,
        description=(
            "Set up the process's logging (a handler on the root logger, structlog); false "
            "leaves the logging configuration you made alone."
        ),
    )
    log_format: LogFormat = Field(
        default="auto",
        description=(
            "json: one JSON object per line; console: readable lines; auto: console in the "
            "dev environment, json in every other."
        ),
    )
    log_level: LogLevel = Field(default="INFO", description="The lowest level written.")
    access_log: bool = Field(
        default=True,
        description="One line per HTTP request: route template, method, status, duration.",
    )
    metrics: bool = Field(
        default=True,
        description=(
            "Prometheus metrics of requests, module calls, events and the outbox, served at "
            "metrics_path."
        ),
    )
    metrics_path: str = Field(
        default="/metrics",
        pattern=r"^/[A-Za-z0-9_./-]*$",
        description="Where the metrics are served, in Prometheus's text format.",
    )
    outbox_sample_seconds: float = Field(
        default=10.0,
        gt=0,
        description=(
            "How often the outbox gauges (pending, unhandled, dead, oldest age) are sampled "
            "from the database; a scrape never queries it."
        ),
    )
    traces: bool = Field(
        default=True,
        description=(
            "OpenTelemetry spans of requests, module calls and events, kept for the dashboard "
            "and exported when OTLP is set (dolmen[otlp])."
        ),
    )
    trace_sample_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description=(
            "The share of new traces sampled (exported); a trace follows its parent's choice. "
            "The dashboard keeps the failed and the slowest traces even when not sampled."
        ),
    )
    trace_buffer_size: int = Field(
        default=200,
        ge=1,
        description="How many recent traces the dashboard keeps (beside the failed and slowest).",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description=(
            "Where to export sampled spans with OTLP over HTTP (http://collector:4318); "
            "OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_TRACES_EXPORTER work too (dolmen[otlp])."
        ),
    )
    dashboard: DashboardSettings = Field(
        default_factory=DashboardSettings, description="The dashboard ([observability.dashboard])."
    )
    redact_keys: list[str] = Field(
        default_factory=list,
        description=(
            "More field names whose values are replaced by ******** in every line (beside "
            "password, token, secret, authorization, api_key, cookie ...)."
        ),
    )

    def effective_format(self, environment: str) -> Literal["json", "console"]:
        """The format of the lines in ``environment``: ``auto`` decided."""
        if self.log_format != "auto":
            return self.log_format
        return "console" if environment in CONSOLE_ENVIRONMENTS else "json"
