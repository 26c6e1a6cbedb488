"""A request id per request: the client's ``X-Request-ID`` when usable, else a new one."""

from __future__ import annotations

import os
import re

from starlette.types import Scope

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_KEY = "dolmen.request_id"
"""Scope key of the request's id."""

_USABLE = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces, at most 128 characters
_HEADER = REQUEST_ID_HEADER.lower().encode()


def new_request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` if it is short and printable, else a fresh random id.

    A proxy or a client that already names its requests keeps its names in Dolmen's logs;
    anything else (too long, control characters, spaces) is not echoed back. A fresh id is
    32 random hexadecimal digits (128 bits, as a UUID4's hex without its fixed bits).
    """
    for name, value in scope["headers"]:
        if name == _HEADER:
            text = bytes(value).decode("latin-1")
            if _USABLE.fullmatch(text):
                return text
            break
    return os.urandom(16).hex()
