"""Request bodies larger than ``[app] max_body_bytes`` are refused with 413, unread.

:class:`~dolmen.http._entry.RequestMiddleware` applies the limit.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import Scope


class BodyTooLargeError(HTTPException):
    """The request body passed the limit; rendered as a 413 problem."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_detail(limit))


def too_large_detail(limit: int) -> str:
    """What a client whose body was refused is told to do."""
    return (
        f"The request body is larger than {limit} bytes, the most this server accepts; "
        "send a smaller body."
    )


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself
    return None
