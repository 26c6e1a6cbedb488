"""Masking the credentials of URLs, wherever a value or a message might show one."""

from __future__ import annotations

import re
from typing import Any

URL_PASSWORD_MASK = "***"
"""What a URL's password becomes: ``postgresql://shop:***@db/shop`` (SQLAlchemy's way)."""

# The password of ``scheme://user:password@host``, read two ways, both masked: as SQLAlchemy
# reads it (up to the first '@', so an unencoded '/' is part of it, unless what follows the
# ':' is a port and a path) and as RFC 3986 does (up to the last '@' before the host, so an
# unencoded '@' is). The scheme is optional: an unparseable URL such as
# ``postgresql//user:password@host`` is masked too.
_UP_TO_FIRST_AT = re.compile(r"(?P<head>//[^\s:/]*:)(?!\d{1,5}/)[^\s@?#]*@")
_UP_TO_LAST_AT = re.compile(r"(?P<head>//[^\s:/?#]*:)[^\s/?#]*@")
# ``?password=...`` (libpq and asyncpg read it), and its usual spellings.
_QUERY_PASSWORD = re.compile(
    r"(?P<head>[?&](?:ssl)?(?:password|passwd|pwd)=)[^&#\s'\"]*", re.IGNORECASE
)


def mask_credentials(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    Works on a URL (``postgresql://shop:s3cr3t@db/shop`` becomes
    ``postgresql://shop:***@db/shop``) and on any message quoting one, such as an error
    or a log line; the user name, host and database stay readable. A ``password=`` query
    parameter is masked too. Text without credentials comes back unchanged.
    """
    if "@" in text:
        text = _UP_TO_FIRST_AT.sub(rf"\g<head>{URL_PASSWORD_MASK}@", text)
        text = _UP_TO_LAST_AT.sub(rf"\g<head>{URL_PASSWORD_MASK}@", text)
    if "=" in text:
        text = _QUERY_PASSWORD.sub(rf"\g<head>{URL_PASSWORD_MASK}", text)
    return text


def mask_value(value: Any) -> Any:
    """``value`` (a setting's, as JSON) with :func:`mask_credentials` applied to each string."""
    if isinstance(value, str):
        return mask_credentials(value)
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    return value
