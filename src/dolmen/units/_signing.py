"""Signed calls between units: HMAC-SHA256 over the request, a timestamp window and a nonce.

The caller signs ``method``, ``path``, a timestamp, a random nonce and the body with the
``[units] secret`` every unit shares; the callee recomputes the signature, compares it in
constant time, refuses a timestamp outside its window (a captured request cannot be replayed
later) and a nonce it has already seen inside that window (nor replayed at once to this
process). Anything unsigned, malformed, stale, replayed or tampered with is refused.
"""

from __future__ import annotations

import hmac
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

TIMESTAMP_HEADER = "x-dolmen-timestamp"
NONCE_HEADER = "x-dolmen-nonce"
SIGNATURE_HEADER = "x-dolmen-signature"
SCHEME = "v1="
"""The signature's version prefix: a later scheme can be told apart and refused clearly."""

WINDOW_SECONDS = 60.0
"""How far a call's timestamp may be from the callee's clock, either way."""

MOST_NONCES = 100_000
"""Nonces remembered per process; past it the oldest are forgotten first (their calls are
then refused by the window alone once their timestamp is older than it)."""

_NONCE = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v1=[0-9a-f]{64}")


class SignatureRefused(Exception):
    """A call's signature is missing, malformed, stale, replayed or wrong; ``str`` says which."""


def signature(
    secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes
) -> str:
    """``v1=<hex>``: HMAC-SHA256 with ``secret`` of the request's parts, one per line.

    One call of ``hmac.digest`` (OpenSSL's one-shot HMAC): half the CPU of an ``hmac.new``
    object fed twice, which builds its keyed pads in Python on every call.
    """
    message = f"{method.upper()}\n{path}\n{timestamp}\n{nonce}\n".encode() + body
    return SCHEME + hmac.digest(secret, message, "sha256").hex()


def signed_headers(
    secret: bytes, method: str, path: str, body: bytes, *, now: float | None = None
) -> dict[str, str]:
    """The headers that sign one request (a fresh nonce each time: sign every attempt anew)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = os.urandom(16).hex()
    return {
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, path, timestamp, nonce, body),
    }


class Verifier:
    """Checks the signature of the calls a unit receives, remembering nonces against replay.

    ``clock`` gives the time in seconds (``time.time``; tests drive their own).
    """

    def __init__(
        self,
        secret: bytes,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        most_nonces: int = MOST_NONCES,
    ) -> None:
        self._secret = secret
        self._window = window
        self._clock = clock
        self._most = most_nonces
        self._seen: OrderedDict[str, float] = OrderedDict()
        """Nonce -> when it may be forgotten (its timestamp is out of the window by then)."""

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Return if the request is signed with the secret; raise SignatureRefused otherwise."""
        timestamp = headers.get(TIMESTAMP_HEADER)
        nonce = headers.get(NONCE_HEADER)
        given = headers.get(SIGNATURE_HEADER)
        if timestamp is None or nonce is None or given is None:
            raise SignatureRefused(
                "the call is not signed: calls between units carry the headers "
                f"{TIMESTAMP_HEADER}, {NONCE_HEADER} and {SIGNATURE_HEADER}"
            )
        if not (_TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce)):
            raise SignatureRefused("the call's timestamp or nonce is malformed")
        if not _SIGNATURE.fullmatch(given):
            raise SignatureRefused(f"the call's signature is malformed (expected {SCHEME}<hex>)")
        now = self._clock()
        if abs(now - int(timestamp)) > self._window:
            raise SignatureRefused(
                f"the call's timestamp is {round(now - int(timestamp))} s away from this "
                f"unit's clock, more than {round(self._window)} s: check the clocks of both "
                "units (NTP)"
            )
        expected = signature(self._secret, method, path, timestamp, nonce, body)
        if not hmac.compare_digest(expected, given):
            raise SignatureRefused(
                "the call's signature does not match: the units do not share the same "
                "[units] secret, or the request was changed on its way"
            )
        self._remember(nonce, now)

    def _remember(self, nonce: str, now: float) -> None:
        seen = self._seen
        while seen:
            oldest, expiry = next(iter(seen.items()))
            if expiry > now and len(seen) < self._most:
                break
            del seen[oldest]
        if nonce in seen:
            raise SignatureRefused("the call was already received (its nonce was seen): a replay")
        seen[nonce] = now + 2 * self._window
