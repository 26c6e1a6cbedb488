"""Who may see the dashboard and act on it, on SQLite and PostgreSQL: loopback only by default;
elsewhere the token, compared in constant time; POSTs need the CSRF header, the page's origin
and, outside dev, the token. Every refusal is a problem+json 403 or 404, never a 500."""

from __future__ import annotations

import hmac

import httpx
import pytest

from dolmen import App
from dolmen.observability._dashboard import _guard
from tests.integration.observability.test_dashboard import client, make_app

TOKEN = "tok-3f9a2c7e"
OFF_LOOPBACK = "203.0.113.9"  # TEST-NET-3: a client on another machine


def assert_refused(response: httpx.Response, status: int = 403) -> str:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    return str(problem["detail"])


async def dead_letter(app: App, http: httpx.AsyncClient) -> int:
    assert (await http.post("/orders/LAMP")).status_code == 201
    await app.drain_events(within=30)
    [letter] = await app.events.dead_letters()
    return letter.id


async def test_off_loopback_without_a_token_the_dashboard_is_refused(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running():
        async with client(app, address=OFF_LOOPBACK, host="shop.example") as far:
            page = await far.get("/_dolmen/")
            state = await far.get("/_dolmen/api/state")
            guessed = await far.get("/_dolmen/", params={"token": "guess"})
        async with client(app) as near:
            proxied = await near.get("/_dolmen/", headers={"X-Forwarded-For": OFF_LOOPBACK})
            forwarded = await near.get("/_dolmen/", headers={"Forwarded": "for=203.0.113.9"})
        async with client(app, host="rebound.example") as rebound:
            rebinding = await rebound.get("/_dolmen/api/state")
        async with client(app, address="::1", host="[::1]:8000") as six:
            ipv6 = await six.get("/_dolmen/api/state")
    assert "only on loopback" in assert_refused(page)
    assert "[observability.dashboard] token" in assert_refused(state)
    assert_refused(guessed)
    assert_refused(proxied)  # a proxy on this host would make every visitor look local
    assert_refused(forwarded)
    assert_refused(rebinding)  # a DNS-rebinding page names its own host
    assert ipv6.status_code == 200


async def test_off_loopback_the_token_opens_a_session(database_url: str) -> None:
    app = make_app(database_url, dashboard={"token": TOKEN})
    async with app.running(), client(app, address=OFF_LOOPBACK, host="shop.example") as far:
        without = await far.get("/_dolmen/api/state")
        wrong = await far.get("/_dolmen/", params={"token": "tok-wrong"})
        opened = await far.get("/_dolmen/", params={"token": TOKEN})
        cookie = far.cookies.get(_guard.COOKIE)
        page = await far.get("/_dolmen/")
        state = await far.get("/_dolmen/api/state")
        far.cookies.set(_guard.COOKIE, "1.forged.0000", domain="shop.example", path="/_dolmen/")
        forged = await far.get("/_dolmen/api/state")
        far.cookies.clear()
        bearer = await far.get("/_dolmen/api/state", headers={"Authorization": f"Bearer {TOKEN}"})
        bad_bearer = await far.get("/_dolmen/api/state", headers={"Authorization": "Bearer nope"})
    assert "with its token" in assert_refused(without)
    assert "not the dashboard's token" in assert_refused(wrong)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/_dolmen/"  # the token leaves the address bar
    set_cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in set_cookie
    assert "samesite=strict" in set_cookie
    assert "path=/_dolmen/" in set_cookie
    assert cookie is not None
    assert TOKEN not in cookie
    assert page.status_code == 200
    assert state.status_code == 200
    assert state.json()["can_act"] is True
    assert_refused(forged)
    assert bearer.status_code == 200
    assert_refused(bad_bearer)


async def test_the_token_is_compared_in_constant_time(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[object, object]] = []
    constant_time = hmac.compare_digest

    def spy(given: bytes, expected: bytes) -> bool:
        compared.append((given, expected))
        return constant_time(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # what the guard calls
    app = make_app(database_url, dashboard={"token": TOKEN})
    async with app.running(), client(app, address=OFF_LOOPBACK, host="shop.example") as far:
        response = await far.get("/_dolmen/api/state", headers={"Authorization": "Bearer t"})
    assert_refused(response)
    assert compared == [(b"t", TOKEN.encode())]


async def test_posts_need_the_csrf_header_and_the_same_origin(database_url: str) -> None:
    app = make_app(database_url, environment="prod", dashboard={"token": TOKEN})
    async with app.running(), client(app, address=OFF_LOOPBACK, host="shop.example") as far:
        delivery = await dead_letter(app, far)
        replay = f"/_dolmen/api/dead-letters/{delivery}/replay"
        assert (await far.get("/_dolmen/", params={"token": TOKEN})).status_code == 303
        page = (await far.get("/_dolmen/")).text
        csrf = page.split('name="dolmen-csrf" content="', 1)[1].split('"', 1)[0]
        without_header = await far.post(replay)
        wrong_header = await far.post(replay, headers={"X-Dolmen-CSRF": "0" * 64})
        other_site = await far.post(
            replay, headers={"X-Dolmen-CSRF": csrf, "Origin": "https://evil.example"}
        )
        cross_site = await far.post(
            replay, headers={"X-Dolmen-CSRF": csrf, "Sec-Fetch-Site": "cross-site"}
        )
        still_dead = len(await app.events.dead_letters())
        done = await far.post(  # TLS ended by a proxy: the page's origin is https
            replay, headers={"X-Dolmen-CSRF": csrf, "Origin": "https://shop.example"}
        )
    assert csrf not in ("", "loopback", TOKEN)
    assert "x-dolmen-csrf" in assert_refused(without_header)
    assert_refused(wrong_header)
    assert "origin https://evil.example" in assert_refused(other_site)
    assert_refused(cross_site)
    assert still_dead == 1  # nothing refused acted
    assert done.status_code == 200
    assert done.json() == {"id": delivery, "replayed": 1}


async def test_outside_dev_acting_on_loopback_needs_the_token(database_url: str) -> None:
    app = make_app(database_url, environment="prod")
    async with app.running(), client(app) as near:
        delivery = await dead_letter(app, near)
        state = (await near.get("/_dolmen/api/state")).json()
        refused = await near.post(
            f"/_dolmen/api/dead-letters/{delivery}/discard", headers={"X-Dolmen-CSRF": "loopback"}
        )
        left = await app.events.dead_letters()
    assert state["can_act"] is False  # the page greys its buttons out
    assert "needs the dashboard's token outside the dev environment" in assert_refused(refused)
    assert [letter.id for letter in left] == [delivery]


async def test_odd_requests_get_problems_never_a_500(database_url: str) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as near:
        answers = {
            "put": await near.put("/_dolmen/api/state"),
            "unknown page": await near.get("/_dolmen/nothing"),
            "beside the prefix": await near.get("/_dolmenx"),
            "unknown action": await near.post("/_dolmen/api/dead-letters/1/explode"),
            "huge id": await near.post(
                "/_dolmen/api/dead-letters/99999999999999999999/replay",
                headers={"X-Dolmen-CSRF": "loopback"},
            ),
            "unknown id": await near.post(
                "/_dolmen/api/dead-letters/424242/replay", headers={"X-Dolmen-CSRF": "loopback"}
            ),
            "bad minutes": await near.get("/_dolmen/api/state", params={"minutes": "soon"}),
            "endless minutes": await near.get("/_dolmen/api/state", params={"minutes": "nan"}),
            "odd cookie": await near.get(
                "/_dolmen/api/state", headers={b"cookie": f"{_guard.COOKIE}=é.x.y".encode()}
            ),
            "odd csrf": await near.post(
                "/_dolmen/api/dead-letters/1/replay", headers={b"x-dolmen-csrf": "é".encode()}
            ),
        }
    statuses = {name: response.status_code for name, response in answers.items()}
    assert statuses == {
        "put": 405,
        "unknown page": 404,
        "beside the prefix": 404,
        "unknown action": 404,
        "huge id": 404,
        "unknown id": 404,
        "bad minutes": 400,
        "endless minutes": 400,
        "odd cookie": 200,
        "odd csrf": 404,
    }
    for name, response in answers.items():
        if response.status_code != 200:
            assert response.headers["content-type"] == "application/problem+json", name


async def test_an_app_it_cannot_read_gets_a_503_problem(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(database_url)
    async with app.running(), client(app) as near:

        async def database_away() -> None:
            raise ConnectionError("the database is away")

        monkeypatch.setattr(type(app.events), "stats", lambda self: database_away())
        response = await near.get("/_dolmen/api/state")
    assert "could not read the app: the database is away" in assert_refused(response, 503)
