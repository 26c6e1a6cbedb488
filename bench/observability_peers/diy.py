"""The do-it-yourself stack of bench/observability.py: bare FastAPI plus the usual libraries.

The bare server (observability_peers.bare) with what a team typically adds itself:
OpenTelemetry's FastAPI instrumentation (an SDK tracer provider, every request sampled, a
batch span processor into a bounded in-memory exporter, like Dolmen's trace buffer),
prometheus-fastapi-instrumentator (its default metrics, ``/metrics``) and a structlog
middleware writing one JSON access line per request to ``DIY_ACCESS_LOG``. It runs in its
own virtual environment (bench/observability_peers/requirements.txt).

    uvicorn observability_peers.diy:app --app-dir bench
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

import structlog
from fastapi import Request, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_fastapi_instrumentator import Instrumentator

from observability_peers.bare import app


class BoundedExporter(SpanExporter):
    """Keeps the last spans in memory, as a dashboard's buffer would."""

    def __init__(self, size: int = 2000) -> None:
        self.spans: deque[ReadableSpan] = deque(maxlen=size)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


log_file = open(os.environ.get("DIY_ACCESS_LOG", os.devnull), "a", buffering=1)  # noqa: SIM115
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.JSONRenderer(),
    ],
    logger_factory=structlog.PrintLoggerFactory(file=log_file),
    cache_logger_on_first_use=True,
)
logger = structlog.get_logger("access")


@app.middleware("http")
async def access_log(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    structlog.contextvars.clear_contextvars()
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    logger.info(
        "request",
        method=request.method,
        route=getattr(route, "path", request.url.path),
        status=response.status_code,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    response.headers["x-request-id"] = request_id
    return response


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(BoundedExporter()))
FastAPIInstrumentor.instrument_app(app, tracer_provider=provider)
Instrumentator().instrument(app).expose(app)
