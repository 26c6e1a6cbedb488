"""``@idempotent``: a service method that may safely run twice, so a remote call retries it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__dolmen_idempotent__"


def idempotent(method: F) -> F:
    """Mark a method of a public service as safe to repeat (a read, or a "set to" write).

    ``@idempotent`` on ``async def get_product(self, sku: str) -> ProductView`` in the
    service's Protocol (``api.py``) lets a call from another unit be retried after a
    timeout or a 502/503/504 answer, when the first attempt may have run. Without it, only
    failures that prove the call never reached the other unit (it could not connect) are
    retried: ``reserve`` must not take the stock twice. In one process it changes nothing.
    """
    setattr(method, _MARK, True)
    return method


def is_idempotent(method: Any) -> bool:
    """Whether ``method`` is marked with :func:`idempotent`."""
    return getattr(method, _MARK, False) is True
