"""The shop's catalog unit in a process of its own, for tests/e2e/units.

``python catalog_unit.py PORT DATABASE_URL RECORD_FILE`` serves it with uvicorn on
127.0.0.1:PORT; the ``traceparent`` and ``x-request-id`` of each call it receives from
another unit are appended to RECORD_FILE, one JSON object a line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.units_calls import unit_app


class Recording:
    """Notes the context headers of each call across units, then serves it."""

    def __init__(self, app: ASGIApp, record: Path) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_units/"):
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            seen = {name: headers.get(name) for name in ("traceparent", "x-request-id")}
            with self.record.open("a") as record:
                record.write(json.dumps(seen) + "\n")
        await self.app(scope, receive, send)


def main() -> None:
    port, database_url, record = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    app, _ = unit_app("catalog", database_url, config={"observability": {"access_log": False}})
    uvicorn.run(Recording(app, record), host="127.0.0.1", port=port, log_level="info")


if __name__ == "__main__":
    main()
