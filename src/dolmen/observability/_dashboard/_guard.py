"""Who may see the dashboard and act on it: loopback, or the token; CSRF defence on POST.

Without a token the dashboard answers only a client on loopback (127.0.0.1, ::1) that
reached the server directly (no ``Forwarded``/``X-Forwarded-For`` header: a proxy on the same
host would make every visitor look local) and names a loopback host (a DNS-rebinding page
names its own). With a token, other clients open ``<path>/?token=...`` once (a session
cookie follows, SameSite=Strict, HttpOnly) or send ``Authorization: Bearer <token>``. Every
comparison with a secret is constant-time (:func:`hmac.compare_digest`).

A POST (replay, discard) also needs: no ``Origin`` of another host (the scheme is not compared:
behind a proxy that ends TLS the server sees http) and no cross-site ``Sec-Fetch-Site``; the
``X-Dolmen-CSRF`` header, which a cross-site page cannot send without a CORS preflight that
the dashboard never grants, holding the session's CSRF token when the session came from the
token; and, outside the ``dev`` environment, the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from starlette.requests import Request

COOKIE = "dolmen_dashboard"
CSRF_HEADER = "x-dolmen-csrf"
SESSION_SECONDS = 12 * 3600
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip", "x-forwarded-host")
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
DEVELOPMENT = frozenset({"dev"})


class Refused(Exception):
    """A request the dashboard does not serve: answered with this status and detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@dataclass(frozen=True, slots=True)
class Access:
    """How a request was let in: ``loopback``, ``bearer`` or ``session`` (with its nonce)."""

    via: str
    nonce: str | None = None


def is_loopback(request: Request) -> bool:
    """A client on this machine that reached the server directly, naming a loopback host."""
    client = request.client
    if client is None or any(name in request.headers for name in FORWARDED):
        return False
    try:
        address = ip_address(client.host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    if not (address.is_loopback or (mapped is not None and mapped.is_loopback)):
        return False
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.lower() in LOOPBACK_HOSTS


class Guard:
    """The dashboard's access rules for one configuration (token, environment)."""

    def __init__(self, token: str | None, environment: str) -> None:
        self._token = token.encode() if token else None
        self.development = environment in DEVELOPMENT

    @property
    def has_token(self) -> bool:
        """Whether a token is configured (the dashboard may answer off loopback)."""
        return self._token is not None

    def token_matches(self, given: str) -> bool:
        """``given`` is the token, compared in constant time."""
        return self._token is not None and hmac.compare_digest(given.encode(), self._token)

    def admit(self, request: Request, now: float | None = None) -> Access:
        """How ``request`` may read the dashboard; raises :class:`Refused` if it may not."""
        authorization = request.headers.get("authorization", "")
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() == "bearer" and given:
            if self.token_matches(given.strip()):
                return Access("bearer")
            raise Refused(403, "Forbidden", "the bearer token is not the dashboard's token")
        nonce = self._session(request.cookies.get(COOKIE, ""), now)
        if nonce is not None:
            return Access("session", nonce)
        if is_loopback(request):
            return Access("loopback")
        if self._token is None:
            raise Refused(
                403,
                "Forbidden",
                "the dashboard answers only on loopback (127.0.0.1 or ::1, no proxy in "
                "between); to open it elsewhere set [observability.dashboard] token and open "
                "<path>/?token=<token>",
            )
        raise Refused(
            403,
            "Forbidden",
            "open the dashboard with its token: <path>/?token=<token>, or send "
            "Authorization: Bearer <token>",
        )

    def check_post(self, request: Request, access: Access) -> None:
        """Refuse a state-changing request that could be forged or lacks the token."""
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host", ""):
            raise Refused(403, "Forbidden", f"a request from origin {origin} may not act here")
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise Refused(403, "Forbidden", "a cross-site request may not act here")
        if access.via == "loopback" and not self.development:
            raise Refused(
                403,
                "Forbidden",
                "replaying or discarding needs the dashboard's token outside the dev "
                "environment: set [observability.dashboard] token and open <path>/?token=<token>",
            )
        if access.via == "bearer":
            return  # a browser never sends it by itself: no forgery possible
        given = request.headers.get(CSRF_HEADER, "")
        expected = self.csrf(access)
        if not given or (expected is not None and not _same(given, expected)):
            raise Refused(
                403,
                "Forbidden",
                f"the {CSRF_HEADER} header is missing or wrong; act from the dashboard's page",
            )

    def csrf(self, access: Access) -> str | None:
        """The CSRF token of a session made with the token (None: the header's presence)."""
        if access.nonce is None or self._token is None:
            return None
        return self._sign(b"csrf:" + access.nonce.encode())

    def new_session(self, now: float | None = None) -> str:
        """A session cookie's value: when it was made, a nonce, and their signature."""
        issued = int(time.time() if now is None else now)
        nonce = f"{issued}.{secrets.token_hex(16)}"
        return f"{nonce}.{self._sign(b'session:' + nonce.encode())}"

    def _session(self, cookie: str, now: float | None) -> str | None:
        issued, _, rest = cookie.partition(".")
        random, _, signature = rest.partition(".")
        if self._token is None or not (issued.isdigit() and random and signature):
            return None
        nonce = f"{issued}.{random}"
        if not _same(signature, self._sign(b"session:" + nonce.encode())):
            return None
        age = (time.time() if now is None else now) - int(issued)
        return nonce if 0 <= age <= SESSION_SECONDS else None

    def _sign(self, message: bytes) -> str:
        assert self._token is not None  # callers check
        return hmac.new(self._token, message, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    """Constant-time equality of two texts (any characters: compared as UTF-8)."""
    return hmac.compare_digest(given.encode(), expected.encode())
