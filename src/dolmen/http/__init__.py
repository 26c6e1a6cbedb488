"""The HTTP entrypoint: FastAPI routers per module, problem+json errors, health probes."""

from dolmen.http._asgi import create_fastapi
from dolmen.http._inject import Inject
from dolmen.http._middleware import UnitOfWorkMiddleware
from dolmen.http._openapi import problem_responses
from dolmen.http._problems import PROBLEM_JSON, problem

__all__ = [
    "PROBLEM_JSON",
    "Inject",
    "UnitOfWorkMiddleware",
    "create_fastapi",
    "problem",
    "problem_responses",
]
