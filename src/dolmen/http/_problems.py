"""Errors as RFC 9457 ``application/problem+json`` responses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
_SOURCES = ("body", "query", "path", "header", "cookie")


def problem(status: int, detail: str | None = None, **extensions: Any) -> JSONResponse:
    """A problem+json response; ``type`` is ``about:blank``, so ``title`` is the status phrase."""
    body: dict[str, Any] = {"type": "about:blank", "title": status_phrase(status), "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def install_problem_handlers(api: FastAPI, error_map: Mapping[type[BaseException], int]) -> None:
    """Render validation errors, HTTP errors and mapped domain errors as problems.

    Any other exception is left to :class:`~dolmen.http._entry.RequestMiddleware`, which
    logs it once and answers 500.
    """

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)  # registered for that type only
        errors = [_field_error(e) for e in exc.errors()]
        return problem(422, "The request is not valid; see 'errors'.", errors=errors)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)  # registered for that type only
        detail = exc.detail if isinstance(exc.detail, str) else None
        response = problem(exc.status_code, detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        return problem(_status_for(exc, error_map), str(exc) or None)

    api.add_exception_handler(RequestValidationError, on_validation)
    api.add_exception_handler(HTTPException, on_http)
    for error in error_map:
        if issubclass(error, Exception):
            api.add_exception_handler(error, on_domain)


def _status_for(exc: BaseException, error_map: Mapping[type[BaseException], int]) -> int:
    for cls in type(exc).__mro__:
        if cls in error_map:
            return error_map[cls]
    return 500


def _field_error(error: Mapping[str, Any]) -> dict[str, Any]:
    loc: Sequence[Any] = error.get("loc", ())
    kind = error.get("type", "")
    detail = error.get("msg", "")
    where = list(loc[1:]) if loc and loc[0] in _SOURCES else list(loc)
    if kind == "json_invalid":
        # pydantic puts the character offset where a path would be: the body as a whole is bad.
        detail = f"{detail} at character {where[0]}" if where else detail
        where = []
    return {
        "loc": list(loc),
        "pointer": "#/" + "/".join(str(part) for part in where) if where else "#",
        "detail": detail,
        "type": kind,
    }


def status_phrase(status: int) -> str:
    """The reason phrase of ``status`` (``Not Found``), or ``Error`` for an unknown status."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
