"""A reverse proxy in front of the shop's units, as an ingress would be: one URL for clients.

``python gateway.py PORT ROUTES`` serves on 127.0.0.1:PORT and sends each request to the
unit that serves its path: ``ROUTES`` is a JSON object of path prefixes and unit URLs
(``{"/billing": "http://127.0.0.1:8002", "/": "http://127.0.0.1:8001"}``), the longest
matching prefix wins. The shop's HTTP tests then run unchanged against the split shop.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Gateway:
    """Forwards each HTTP request to the unit serving its path prefix."""

    def __init__(self, routes: Mapping[str, str]) -> None:
        self.routes = sorted(routes.items(), key=lambda route: -len(route[0]))
        self.client = httpx.AsyncClient(timeout=30.0)

    def target(self, path: str) -> str:
        for prefix, url in self.routes:
            if prefix == "/" or path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return url
        raise LookupError(path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await self.client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        request = Request(scope, receive)
        # The path and query as the client sent them, still percent-encoded (%00 and all).
        raw_path = scope.get("raw_path") or request.url.path.encode()
        query = scope.get("query_string", b"")
        url = self.target(request.url.path) + raw_path.decode("latin-1")
        upstream = await self.client.request(
            request.method,
            url + ("?" + query.decode("latin-1") if query else ""),
            content=await request.body(),
            headers=[(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP],
        )
        headers = {
            k: v
            for k, v in upstream.headers.multi_items()
            if k not in HOP_BY_HOP and k != "content-encoding"
        }
        response = Response(upstream.content, upstream.status_code, headers)
        await response(scope, receive, send)


if __name__ == "__main__":
    port, routes = int(sys.argv[1]), json.loads(sys.argv[2])
    uvicorn.run(Gateway(routes), host="127.0.0.1", port=port, log_level="warning")
