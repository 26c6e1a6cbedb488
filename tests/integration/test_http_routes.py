"""Module routes are copied onto the app (one match per route), exactly as included.

``mount_router`` relies on FastAPI's ``add_api_route`` options being the route's attributes of
the same names (docs/dependencies.md); these tests compare it with ``include_router``.
"""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, WebSocket
from pydantic import BaseModel

from dolmen.http._routes import mount_router


class Product(BaseModel):
    sku: str
    stock: int = 0


async def tenant(x_tenant: Annotated[str, Header()] = "main") -> str:
    return x_tenant


def router_with_every_option() -> APIRouter:
    router = APIRouter(prefix="/products", tags=["catalog"], dependencies=[Depends(tenant)])

    @router.get(
        "/{sku}",
        response_model=Product,
        summary="One product",
        responses={404: {"description": "No such product"}},
        response_model_exclude_unset=True,
    )
    async def product(sku: str, who: Annotated[str, Depends(tenant)]) -> dict[str, str]:
        if sku == "NONE":
            raise HTTPException(404, "no such product")
        return {"sku": f"{who}:{sku}"}

    @router.post("", status_code=201, deprecated=True, operation_id="add_it", tags=["admin"])
    async def add(new: Product) -> Product:
        """Add a product."""
        return new

    @router.delete("/{sku}", include_in_schema=False, status_code=204, response_model=None)
    async def remove(sku: str) -> None:
        return None

    return router


def both_apps() -> tuple[FastAPI, FastAPI]:
    included, mounted = FastAPI(), FastAPI()
    included.include_router(router_with_every_option(), prefix="/catalog")
    mount_router(mounted, router_with_every_option(), "/catalog")
    return included, mounted


async def test_copied_routes_have_the_openapi_and_answers_of_included_ones() -> None:
    included, mounted = both_apps()
    assert mounted.openapi() == included.openapi()
    answers = []
    for app in (included, mounted):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            answers.append(
                [
                    (r.status_code, r.content)
                    for r in (
                        await client.get("/catalog/products/LAMP", headers={"x-tenant": "eu"}),
                        await client.get("/catalog/products/NONE"),
                        await client.post("/catalog/products", json={"sku": "DESK", "stock": 2}),
                        await client.post("/catalog/products", json={"stock": "x"}),
                        await client.delete("/catalog/products/LAMP"),
                    )
                ]
            )
    assert answers[0] == answers[1]
    assert answers[1][0] == (200, b'{"sku":"eu:LAMP"}')


async def test_dependency_overrides_of_the_app_apply_to_copied_routes() -> None:
    _, mounted = both_apps()
    mounted.dependency_overrides[tenant] = lambda: "test"
    transport = httpx.ASGITransport(app=mounted)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/catalog/products/LAMP")
    assert response.json() == {"sku": "test:LAMP"}


def test_a_router_with_a_websocket_is_included_as_it_is() -> None:
    router = APIRouter()

    @router.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app, included = FastAPI(), FastAPI()
    mount_router(app, router, "/catalog")
    included.include_router(router, prefix="/catalog")
    assert [type(route) for route in app.routes] == [type(route) for route in included.routes]
