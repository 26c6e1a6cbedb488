"""The OpenAPI document says what the app answers: problem+json errors, with their schema."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI

from dolmen.http._problems import PROBLEM_JSON, status_phrase
from dolmen.http._request_id import REQUEST_ID_HEADER

_REF = "#/components/schemas/"
_HEADER_REF = f"#/components/headers/{REQUEST_ID_HEADER}"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_BODY_METHODS = frozenset({"post", "put", "patch"})
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")

_PROBLEM_PROPERTIES: dict[str, Any] = {
    "type": {"type": "string", "description": "Always 'about:blank': the status says it all."},
    "title": {"type": "string", "description": "The status phrase, e.g. 'Not Found'."},
    "status": {"type": "integer", "description": "The HTTP status code of the response."},
    "detail": {"type": "string", "description": "What went wrong, and what to do about it."},
    "request_id": {
        "type": "string",
        "description": "The request's id (as in the X-Request-ID header); in every 500, to "
        "quote when reporting the error.",
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "An error, as an RFC 9457 application/problem+json document.",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": _PROBLEM_PROPERTIES,
    },
    "ValidationProblem": {
        "title": "ValidationProblem",
        "description": "A request that is not valid: a Problem with one entry in 'errors' per "
        "invalid value ('errors' is absent when the database refused a value).",
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            **_PROBLEM_PROPERTIES,
            "errors": {"type": "array", "items": {"$ref": _REF + "FieldError"}},
        },
    },
    "FieldError": {
        "title": "FieldError",
        "description": "One invalid value of a request.",
        "type": "object",
        "required": ["loc", "pointer", "detail", "type"],
        "properties": {
            "loc": {
                "type": "array",
                "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                "description": "Where the value is, as FastAPI says it, e.g. "
                "['body', 'items', 0, 'quantity'].",
            },
            "pointer": {
                "type": "string",
                "description": "A JSON pointer into the request part, e.g. '#/items/0/quantity'.",
            },
            "detail": {"type": "string", "description": "What is wrong with the value."},
            "type": {"type": "string", "description": "pydantic's error type."},
        },
    },
}
_DESCRIPTIONS = {
    400: "The request is malformed (e.g. a body that is not UTF-8 text).",
    401: "The request needs credentials.",
    403: "The request is not allowed.",
    404: "The resource does not exist.",
    409: "The request conflicts with the current state (e.g. a value that must be unique).",
    413: "The request body is larger than the server accepts ([app] max_body_bytes).",
    422: "The request is not valid (see 'errors'), or the database could not store a value.",
    500: "The server failed; the error was logged with the request_id.",
    503: "The service cannot answer now; try again later.",
}
_REQUEST_ID_HEADER = {
    "description": "The request's id: the client's X-Request-ID when it is at most 128 "
    "printable characters without spaces, else a new one. Quote it when reporting an error.",
    "schema": {"type": "string"},
}


def problem_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a FastAPI route that answers ``statuses`` with problems.

    ``@router.get("/{sku}", responses=problem_responses(404))`` documents the 404 as
    ``application/problem+json`` with Dolmen's ``Problem`` schema (422 with
    ``ValidationProblem``), each with a description of its own (``descriptions``
    overrides them). Merge with other responses as a plain dict:
    ``responses={**problem_responses(404, 409), 200: {...}}``.
    """
    own = descriptions or {}
    return {status: _problem_response(status, own.get(status)) for status in statuses}


def _problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    schema = "ValidationProblem" if status == 422 else "Problem"
    if description is None:
        description = _DESCRIPTIONS.get(status) or status_phrase(status)
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": _REF + schema}}},
    }


def install_truthful_openapi(api: FastAPI) -> None:
    """Make ``api``'s OpenAPI document tell the errors as Dolmen answers them.

    Every operation documents 500; those with a body (and every POST, PUT and PATCH),
    400 (FastAPI's answer to a body it cannot decode, such as JSON that is not UTF-8) and
    413; FastAPI's 422 in ``application/json`` becomes Dolmen's ``ValidationProblem`` in
    problem+json (its ``HTTPValidationError`` schema goes); and every response documents
    the ``X-Request-ID`` header.
    """
    generate: Callable[[], dict[str, Any]] = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = tell_the_errors(generate())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way


def tell_the_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (an OpenAPI document FastAPI made) with Dolmen's errors, changed in place."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(copy.deepcopy(SCHEMAS))
    components.setdefault("headers", {})[REQUEST_ID_HEADER] = copy.deepcopy(_REQUEST_ID_HEADER)
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = path_item.get(method)
            if operation is not None:
                _tell_operation(operation, carries_a_body=method in _BODY_METHODS)
    for name in _FASTAPI_VALIDATION:  # in this order: the first refers to the second
        if f'"{_REF}{name}"' not in json.dumps(document):
            schemas.pop(name, None)
    return document


def _tell_operation(operation: dict[str, Any], *, carries_a_body: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validation = responses.get("422")
    if validation is not None and _is_fastapis_validation_error(validation):
        responses["422"] = _problem_response(422)
    if carries_a_body or "requestBody" in operation:  # a route may read a body FastAPI cannot see
        responses.setdefault("400", _problem_response(400))
        responses.setdefault("413", _problem_response(413))
    responses.setdefault("500", _problem_response(500))
    for response in responses.values():
        if "$ref" not in response:
            headers = response.setdefault("headers", {})
            headers.setdefault(REQUEST_ID_HEADER, {"$ref": _HEADER_REF})


def _is_fastapis_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == _REF + "HTTPValidationError")
