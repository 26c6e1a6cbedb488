"""The event loop a benchmark's Dolmen processes run on: the one ``dolmen run`` gives them.

uvicorn (behind ``dolmen run``) runs an app on uvloop when it is installed (``dolmen[fast]``,
in the dev install), so the benchmarks do too, unless ``BENCH_PLAIN=1`` asks for asyncio's own
loop. PgQueuer's worker runs on uvloop the same way (``pgq run``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def plain() -> bool:
    """Whether asyncio's own loop (and uvicorn's h11 parser) is asked for: ``BENCH_PLAIN=1``."""
    return os.environ.get("BENCH_PLAIN") == "1"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when installed and not :func:`plain`; None (asyncio's) otherwise."""
    if plain():
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def loop_name() -> str:
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on :func:`loop_factory`'s loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
