"""``/docs`` and ``/redoc`` load everything from the app itself: they work offline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .http_app import make_app

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
ANY_URL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")
CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(f"sqlite:///{tmp_path / 'docs.db'}")
    async with app.running():
        transport = httpx.ASGITransport(app=app.asgi())
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_page_references_nothing_outside_the_app(
    client: httpx.AsyncClient, page: str
) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert ANY_URL.findall(html) == []  # no CDN, no fonts, no icon from elsewhere
    assets = ASSET.findall(html)
    assert len(assets) >= 2  # the script, and the icon (and Swagger UI's stylesheet)
    for asset in assets:
        assert asset.startswith("/_dolmen/docs-assets/"), asset
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        expected = CONTENT_TYPES[Path(asset).suffix]
        assert answer.headers["content-type"].split(";")[0] == expected, asset
        if expected == "image/png":  # fastapi-offline's icon: 412 bytes in 1.7.0, more later
            assert answer.content.startswith(b"\x89PNG\r\n\x1a\n"), asset
        else:
            assert len(answer.content) > 1000, asset


async def test_swagger_ui_reads_the_apps_document_and_can_render_openapi_3_1(
    client: httpx.AsyncClient,
) -> None:
    html = (await client.get("/docs")).text
    assert "url: '/openapi.json'" in html
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in html
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1.")
    [script] = [asset for asset in ASSET.findall(html) if asset.endswith(".js")]
    bundle = (await client.get(script)).text
    # Swagger UI before 5.0 refuses OpenAPI 3.1 documents ("Unable to render this definition").
    assert r"/^3\.1\.(?:[1-9]\d*|0)$/" in bundle
