"""The HTTP entrypoint in process: the unit of work per request, problems, probes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dolmen import App

from .notes_app import make_app


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[App]:
    app = make_app(database_url)
    async with app.running():
        yield app


@pytest.fixture
async def client(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def note_count(client: httpx.AsyncClient) -> int:
    response = await client.get("/notes/count")
    assert response.status_code == 200
    return int(response.json()["count"])


async def test_a_successful_request_commits_its_unit_of_work(client: httpx.AsyncClient) -> None:
    response = await client.post("/notes", params={"text": "hello"})
    assert response.status_code == 201
    assert await note_count(client) == 1


async def test_an_error_response_rolls_back_what_the_request_wrote(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/notes", params={"text": "conflict"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Conflict",
        "status": 409,
        "detail": "refused after writing",
    }
    assert await note_count(client) == 0


async def test_a_crash_is_a_500_problem_without_details_and_is_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dolmen.http"):
        response = await client.post("/notes", params={"text": "crash"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.text
    assert "secret internal detail" not in body
    assert "Traceback" not in body
    assert response.json()["title"] == "Internal Server Error"
    assert "secret internal detail" in caplog.text
    assert "Traceback" in caplog.text
    assert await note_count(client) == 0


async def test_a_commit_that_fails_turns_into_a_500_not_a_success(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/notes/unlucky")
    assert response.status_code == 500
    assert await note_count(client) == 0


def test_a_route_asking_for_another_modules_private_service_is_refused_at_start_up() -> None:
    from dolmen import Module
    from dolmen.modules import CompositionError

    from .notes_app import audit_module, nosy_router, notes_module

    nosy = Module("nosy", routers=[nosy_router])
    with pytest.raises(CompositionError) as error:
        App("t", modules=[nosy, audit_module, notes_module])
    assert str(error.value).startswith("route /nosy/peek: module 'nosy' asked for ")
    assert "which is private to module 'audit'" in str(error.value)


async def test_probes_answer_even_when_the_app_was_not_started(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'x.db'}")
    transport = httpx.ASGITransport(app=app.asgi())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"] == "database unreachable: RuntimeError"


async def test_a_get_request_cannot_change_data(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="dolmen.http"):
        response = await client.get("/notes/write-in-a-get")
    assert response.status_code == 500
    assert "tried to write in a read-only unit of work" in caplog.text
    assert await note_count(client) == 0


async def test_validation_errors_are_422_problems_with_the_field_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/notes")
    assert response.status_code == 422
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["loc"] == ["query", "text"]
    assert problem["errors"][0]["pointer"] == "#/text"


async def test_unknown_paths_are_404_problems(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_health_and_readiness_probes_answer(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok"}


async def test_readiness_fails_with_503_when_the_database_does_not_answer(
    app: App, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable() -> None:
        raise ConnectionRefusedError("no database")

    assert app.database is not None
    monkeypatch.setattr(app.database, "ping", unreachable)
    response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "database unreachable: ConnectionRefusedError"
    assert (await client.get("/healthz")).status_code == 200


async def test_openapi_lists_the_module_routes_under_their_prefix(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/notes", "/notes/count", "/healthz", "/readyz"} <= set(paths)
