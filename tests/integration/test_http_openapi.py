"""The OpenAPI document tells the errors as the app answers them, schema and media type."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import APIRouter

from dolmen import App, Module, problem_responses

from .http_app import make_app

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(database_url, max_body_bytes=1000)
    async with app.running():
        transport = httpx.ASGITransport(app=app.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def documented(document: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """The schema the document gives for ``status`` of ``method path``, in problem+json."""
    response = document["paths"][path][method]["responses"][str(status)]
    assert list(response["content"]) == [PROBLEM], (path, method, status)
    schema: dict[str, Any] = response["content"][PROBLEM]["schema"]
    return schema


def assert_conforms(document: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    """``body`` is valid against ``schema``, whose references point into ``document``."""
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(body)


async def test_every_error_the_app_answers_is_documented_with_its_real_schema(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    answers = [
        ("/items", "post", 422, await client.post("/items", json={"sku": 1})),
        ("/items", "post", 413, await client.post("/items", content=b"x" * 1001)),
        ("/items", "post", 400, await client.post("/items", content=b"\xff", headers=JSON)),
        ("/items/stream/{count}", "get", 422, await client.get("/items/stream/many")),
        ("/items/measure", "post", 413, await client.post("/items/measure", content=b"x" * 1001)),
        ("/items/{sku}/explode", "get", 500, await client.get("/items/LAMP/explode")),
        ("/items", "post", 422, await client.post("/items", json={"sku": "B", "stock": 2**63})),
    ]
    for path, method, status, response in answers:
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert_conforms(document, documented(document, path, method, status), response.json())


async def test_the_422_is_the_validation_problem_and_fastapis_own_schemas_are_gone(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    text = json.dumps(document)
    assert "HTTPValidationError" not in text
    assert '"ValidationError"' not in text
    with_parameters = [
        (path, method)
        for path, method, operation in operations(document)
        if operation.get("parameters") or operation.get("requestBody")
    ]
    assert with_parameters
    for path, method in with_parameters:
        assert documented(document, path, method, 422) == {
            "$ref": "#/components/schemas/ValidationProblem"
        }
    problem = document["components"]["schemas"]["ValidationProblem"]
    assert set(problem["properties"]) == {
        "type", "title", "status", "detail", "request_id", "errors"
    }  # fmt: skip


async def test_every_operation_documents_500_those_that_take_a_body_400_413_and_readyz_503(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in operations(document):
        assert documented(document, path, method, 500) == problem_ref
        if "requestBody" in operation or method in ("post", "put", "patch"):
            assert documented(document, path, method, 400) == problem_ref
            assert documented(document, path, method, 413) == problem_ref
        else:
            assert "400" not in operation["responses"], (path, method)
            assert "413" not in operation["responses"], (path, method)
        for response in operation["responses"].values():
            assert response["headers"]["X-Request-ID"] == {
                "$ref": "#/components/headers/X-Request-ID"
            }
    assert documented(document, "/readyz", "get", 503) == problem_ref


async def test_a_route_declares_its_problems_with_problem_responses(tmp_path: Path) -> None:
    router = APIRouter()

    @router.get("/{sku}", responses=problem_responses(404, 409, descriptions={409: "Sold."}))
    async def product(sku: str) -> dict[str, str]:
        return {"sku": sku}

    app = App("shop", [Module("catalog", routers=[router])])
    document = app.asgi().openapi()
    responses = document["paths"]["/catalog/{sku}"]["get"]["responses"]
    assert responses["404"]["description"] == "The resource does not exist."
    assert responses["409"]["description"] == "Sold."
    for status in ("404", "409"):
        assert responses[status]["content"] == {
            PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert document["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status"]
    assert problem_responses(422)[422]["content"][PROBLEM]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
