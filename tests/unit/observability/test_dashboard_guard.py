"""The dashboard's guard without a server: loopback detection, sessions and their expiry."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from dolmen.observability._dashboard._guard import (
    COOKIE,
    SESSION_SECONDS,
    Guard,
    Refused,
    is_loopback,
)


def request(client: str = "127.0.0.1", host: str = "localhost:8000", **headers: str) -> Request:
    raw = [(b"host", host.encode())] + [
        (name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()
    ]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/_dolmen/",
        "headers": raw,
        "client": (client, 50000),
        "scheme": "http",
        "server": ("localhost", 8000),
        "query_string": b"",
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("client", "host", "expected"),
    [
        ("127.0.0.1", "localhost:8000", True),
        ("127.0.0.1", "127.0.0.1:8000", True),
        ("::1", "[::1]:8000", True),
        ("::ffff:127.0.0.1", "localhost", True),
        ("10.0.0.7", "localhost:8000", False),
        ("127.0.0.1", "attacker.example", False),
        ("not-an-address", "localhost", False),
    ],
)
def test_loopback_is_a_local_client_naming_a_local_host(
    client: str, host: str, expected: bool
) -> None:
    assert is_loopback(request(client, host)) is expected


def test_a_forwarded_request_is_not_loopback() -> None:
    assert not is_loopback(request(x_forwarded_for="198.51.100.4"))


def test_a_session_is_signed_with_the_token_and_expires() -> None:
    guard = Guard("token-1", "prod")
    cookie = guard.new_session(now=1_000_000)
    seen = request("10.0.0.7", "shop.example", cookie=f"{COOKIE}={cookie}")
    access = guard.admit(seen, now=1_000_000 + 60)
    assert access.via == "session"
    assert guard.csrf(access) not in (None, "", cookie)
    with pytest.raises(Refused):
        guard.admit(seen, now=1_000_000 + SESSION_SECONDS + 1)
    with pytest.raises(Refused):
        Guard("token-2", "prod").admit(seen, now=1_000_000 + 60)  # another token, another key


def test_without_a_token_there_is_no_session() -> None:
    guard = Guard(None, "dev")
    assert not guard.has_token
    assert not guard.token_matches("")
    with pytest.raises(Refused, match="only on loopback"):
        guard.admit(request("10.0.0.7", "shop.example", cookie=f"{COOKIE}=1.2.3"))
