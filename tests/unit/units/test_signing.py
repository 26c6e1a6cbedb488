"""Calls between units are signed: anything unsigned, stale, replayed or tampered is refused."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from dolmen.units._signing import (
    NONCE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureRefused,
    Verifier,
    signed_headers,
)

SECRET = b"a-shared-secret-of-at-least-32-characters"
PATH = "/_units/call/catalog/CatalogService/reserve"
BODY = b'{"requests":[{"sku":"LAMP-01","quantity":1}]}'
NOW = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(clock: Clock) -> Verifier:
    return Verifier(SECRET, window=60, clock=clock)


def refusal(
    verifier: Verifier,
    headers: dict[str, str],
    method: str = "POST",
    path: str = PATH,
    body: bytes = BODY,
) -> str:
    with pytest.raises(SignatureRefused) as refused:
        verifier.verify(method, path, headers, body)
    return str(refused.value)


def test_accepts_a_call_signed_with_the_shared_secret(verifier: Verifier) -> None:
    verifier.verify("POST", PATH, signed_headers(SECRET, "POST", PATH, BODY, now=NOW), BODY)


def test_the_signature_is_hmac_sha256_of_the_request_parts_one_per_line_then_the_body() -> None:
    # The wire format: units of two Dolmen versions (a rolling deployment) must agree on it.
    headers = signed_headers(SECRET, "post", PATH, BODY, now=NOW)
    parts = f"POST\n{PATH}\n{int(NOW)}\n{headers[NONCE_HEADER]}\n".encode()
    expected = hmac.new(SECRET, parts + BODY, hashlib.sha256).hexdigest()
    assert headers[TIMESTAMP_HEADER] == str(int(NOW))
    assert headers[SIGNATURE_HEADER] == f"v1={expected}"


def test_refuses_an_unsigned_call_naming_the_headers(verifier: Verifier) -> None:
    assert SIGNATURE_HEADER in refusal(verifier, {})


@pytest.mark.parametrize(
    "changes",
    [{"body": BODY.replace(b"1}", b"9}")}, {"path": PATH.replace("reserve", "release")},
     {"method": "PUT"}],
    ids=["body", "path", "method"],
)  # fmt: skip
def test_refuses_a_call_changed_on_its_way(verifier: Verifier, changes: dict[str, Any]) -> None:
    headers = signed_headers(SECRET, "POST", PATH, BODY, now=NOW)
    assert "does not match" in refusal(verifier, headers, **changes)


def test_refuses_a_call_signed_with_another_secret(verifier: Verifier) -> None:
    headers = signed_headers(
        b"another-secret-of-at-least-32-characters", "POST", PATH, BODY, now=NOW
    )
    assert "[units] secret" in refusal(verifier, headers)


@pytest.mark.parametrize("offset", [-61, 61])
def test_refuses_a_call_whose_timestamp_is_out_of_the_window(
    verifier: Verifier, offset: int
) -> None:
    headers = signed_headers(SECRET, "POST", PATH, BODY, now=NOW + offset)
    assert "clock" in refusal(verifier, headers)


def test_refuses_the_same_call_received_twice(verifier: Verifier, clock: Clock) -> None:
    headers = signed_headers(SECRET, "POST", PATH, BODY, now=NOW)
    verifier.verify("POST", PATH, headers, BODY)
    clock.now += 30  # still in the window: only the nonce tells the replay
    assert "replay" in refusal(verifier, headers)


def test_forgets_nonces_once_their_calls_are_out_of_the_window(
    verifier: Verifier, clock: Clock
) -> None:
    verifier.verify("POST", PATH, signed_headers(SECRET, "POST", PATH, BODY, now=NOW), BODY)
    clock.now += 1000
    verifier.verify("POST", PATH, signed_headers(SECRET, "POST", PATH, BODY, now=clock.now), BODY)
    assert len(verifier._seen) == 1


@pytest.mark.parametrize(
    ("header", "value"),
    [(TIMESTAMP_HEADER, "soon"), (NONCE_HEADER, "x" * 32), (SIGNATURE_HEADER, "v2=" + "0" * 64),
     (SIGNATURE_HEADER, "v1=" + "0" * 5000)],
)  # fmt: skip
def test_refuses_malformed_headers(verifier: Verifier, header: str, value: str) -> None:
    headers = signed_headers(SECRET, "POST", PATH, BODY, now=NOW)
    headers[header] = value
    assert "malformed" in refusal(verifier, headers)
