"""The HTTP entrypoint: FastAPI routers per module, problem+json errors, health probes."""

from dolmen.http._asgi import create_fastapi
from dolmen.http._body_limit import content_length, too_large_detail
from dolmen.http._entry import answer_failure
from dolmen.http._errors import route_of, route_templates
from dolmen.http._health import HealthProbes
from dolmen.http._inject import Inject, endpoint_modules, injected_keys
from dolmen.http._middleware import UnitOfWorkMiddleware
from dolmen.http._openapi import problem_responses
from dolmen.http._problem_error import ProblemError
from dolmen.http._problems import PROBLEM_JSON, problem
from dolmen.http._request_id import REQUEST_ID_KEY, new_request_id
from dolmen.http._served import RequestWork, ServedApp, ServedModule

__all__ = [
    "PROBLEM_JSON",
    "REQUEST_ID_KEY",
    "HealthProbes",
    "Inject",
    "ProblemError",
    "RequestWork",
    "ServedApp",
    "ServedModule",
    "UnitOfWorkMiddleware",
    "answer_failure",
    "content_length",
    "create_fastapi",
    "endpoint_modules",
    "injected_keys",
    "new_request_id",
    "problem",
    "problem_responses",
    "route_of",
    "route_templates",
    "too_large_detail",
]
