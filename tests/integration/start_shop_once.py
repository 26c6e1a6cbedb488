"""One of the processes of ``test_concurrent_start.py``: start the shop once, when told to.

It builds the shop (on ``DOLMEN_DATABASE_URL``), prints ``ready``, waits for a line on its
standard input, then starts and stops the shop. The test starts several of these and writes
that line to all of them at once, so their starts meet on the same fresh database.
"""

from __future__ import annotations

import asyncio
import sys

from shop.app import create_app


async def main() -> None:
    app = create_app()
    app.load_config()  # read the settings before the signal: the starts then meet sooner
    print("ready", flush=True)
    sys.stdin.readline()
    async with app.running():
        pass
    print("started and stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
