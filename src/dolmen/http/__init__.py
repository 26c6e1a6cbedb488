"""The HTTP entrypoint: FastAPI routers per module, problem+json errors, health probes."""

from dolmen.http._asgi import create_fastapi
from dolmen.http._health import HealthProbes
from dolmen.http._inject import Inject, injected_keys
from dolmen.http._middleware import UnitOfWorkMiddleware
from dolmen.http._openapi import problem_responses
from dolmen.http._problems import PROBLEM_JSON, problem
from dolmen.http._served import RequestWork, ServedApp, ServedModule

__all__ = [
    "PROBLEM_JSON",
    "HealthProbes",
    "Inject",
    "RequestWork",
    "ServedApp",
    "ServedModule",
    "UnitOfWorkMiddleware",
    "create_fastapi",
    "injected_keys",
    "problem",
    "problem_responses",
]
