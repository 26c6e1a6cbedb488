"""One of the processes of ``test_concurrent_start.py``: starts the shop when told to.

Once imported it prints ``ready``; then for each line it reads (a database URL) it builds the
shop on that database, starts it, stops it, and prints ``started`` or ``failed: <error>``. The
test runs several of these and sends the same URL to all of them at once, so that their starts
meet on the same fresh database; the processes are reused from one round to the next.
"""

from __future__ import annotations

import asyncio
import sys

from shop.app import create_app


async def start_once(database_url: str) -> str:
    # Its standard output is the test's protocol, and standard error goes there too: no log
    # lines (an app logs to standard error from its start by default).
    config = {"app": {"database_url": database_url}, "observability": {"configure_logging": False}}
    app = create_app(config)
    app.load_config()  # before the start, as the settings of a server's worker are
    try:
        async with app.running():
            pass
    except Exception as error:
        return f"failed: {type(error).__name__}: {error}".replace("\n", " ")
    return "started"


async def main() -> None:
    print("ready", flush=True)
    while line := sys.stdin.readline():
        print(await start_once(line.strip()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
