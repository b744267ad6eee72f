"""The browser flow: refresh token in an HttpOnly cookie, CSRF double submit, origin
checks (DESIGN.md §5, §6, §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from tenantry.identity.routes.cookies import CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from tenantry.main import create_app
from tests.conftest import PASSWORD, bearer, make_settings, register

ORIGIN = "https://testserver"


@pytest.fixture(scope="session")
async def browser_app(app: Any, migrated_url: str) -> AsyncIterator[Any]:
    """The service configured with `FRONTEND_URL` = the origin its web app is served from."""
    application = create_app(make_settings(migrated_url, frontend_url=ORIGIN))
    yield application
    await application.state.principal_reader.close()
    await application.state.engine.dispose()


@pytest.fixture
async def browser(browser_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTPS client, as a browser on the service's own origin (Secure cookies flow)."""
    transport = httpx.ASGITransport(app=browser_app)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        yield http


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by cookie name, raw, so attributes can be checked exactly."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


def _attributes(raw: str) -> dict[str, str]:
    parsed = SimpleCookie()
    parsed.load(raw)
    morsel = next(iter(parsed.values()))
    return {key.lower(): str(value) for key, value in morsel.items() if value}


async def _browser_login(browser: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    user = await register(browser)
    response = await browser.post(
        "/auth/login",
        json={"email": user["email"], "password": PASSWORD},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 200, response.text
    return user, response.json()["access_token"]


def _csrf(browser: httpx.AsyncClient) -> dict[str, str]:
    return {CSRF_HEADER: browser.cookies[CSRF_COOKIE], "Origin": ORIGIN}


async def test_login_sets_refresh_and_csrf_cookies_with_exact_attributes(
    browser: httpx.AsyncClient,
) -> None:
    user = await register(browser)
    response = await browser.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD}
    )

    assert response.status_code == 200
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    assert response.headers["cache-control"] == "no-store"
    cookies = _set_cookies(response)
    refresh = _attributes(cookies[REFRESH_COOKIE])
    assert "httponly" in cookies[REFRESH_COOKIE].lower()
    assert "secure" in refresh
    assert refresh["samesite"].lower() == "strict"
    assert refresh["path"] == "/auth"
    assert int(refresh["max-age"]) > 0
    csrf = cookies[CSRF_COOKIE].lower()
    assert "httponly" not in csrf  # the app's scripts must read it
    assert "secure" in csrf
    assert "samesite=strict" in csrf
    assert "path=/;" in csrf or csrf.endswith("path=/")


async def test_development_cookies_are_not_secure(app: Any, migrated_url: str) -> None:
    from tenantry.main import create_app
    from tests.conftest import make_settings

    development = create_app(make_settings(migrated_url, environment="development"))
    transport = httpx.ASGITransport(app=development)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        user = await register(http)
        response = await http.post(
            "/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
    await development.state.engine.dispose()
    assert "secure" not in _set_cookies(response)[REFRESH_COOKIE].lower()


async def test_refresh_with_cookie_and_csrf_header_rotates_the_cookie(
    browser: httpx.AsyncClient,
) -> None:
    await _browser_login(browser)
    before = browser.cookies[REFRESH_COOKIE]

    response = await browser.post("/auth/refresh", headers=_csrf(browser))

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert browser.cookies[REFRESH_COOKIE] != before
    me = await browser.get("/users/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-csrf-header"),
        pytest.param({CSRF_HEADER: "wrong"}, id="wrong-csrf-header"),
        pytest.param({"Origin": "https://evil.example"}, id="foreign-origin"),
        pytest.param({"Origin": "null"}, id="null-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="cross-site-fetch"),
    ],
)
async def test_refresh_refuses_cross_site_requests(
    browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await _browser_login(browser)
    sent = {CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
    sent.update(headers)
    if not headers:
        sent = {}

    response = await browser.post("/auth/refresh", headers=sent)

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "csrf_failed"


async def test_csrf_pair_planted_by_an_attacker_is_refused(browser: httpx.AsyncClient) -> None:
    """Cookie tossing: a matching cookie and header that were not made for this session."""
    await _browser_login(browser)
    browser.cookies.set(CSRF_COOKIE, "planted-value", domain="testserver", path="/")

    response = await browser.post("/auth/refresh", headers={CSRF_HEADER: "planted-value"})

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_refresh_without_cookie_is_401(browser: httpx.AsyncClient) -> None:
    response = await browser.post("/auth/refresh", headers={CSRF_HEADER: "x"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_login_from_a_foreign_origin_is_refused(browser: httpx.AsyncClient) -> None:
    user = await register(browser)
    response = await browser.post(
        "/auth/login",
        json={"email": user["email"], "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert REFRESH_COOKIE not in _set_cookies(response)


async def test_an_origin_matching_only_the_requests_host_is_refused(
    browser: httpx.AsyncClient,
) -> None:
    """The browser's `Host` is the attacker's to choose (a proxy that passes any `Host`,
    DNS rebinding): only the configured origins count as our own."""
    user, _ = await _browser_login(browser)
    attacker = "https://attacker.example"
    headers = {"Host": "attacker.example", "Origin": attacker}

    login = await browser.post(
        "/auth/login", json={"email": user["email"], "password": PASSWORD}, headers=headers
    )
    refresh = await browser.post(
        "/auth/refresh", headers={**headers, CSRF_HEADER: browser.cookies[CSRF_COOKIE]}
    )

    for response in (login, refresh):
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "csrf_failed"
    assert REFRESH_COOKIE not in _set_cookies(login)


async def test_configured_cors_origin_may_refresh(app: Any, migrated_url: str) -> None:
    spa_origin = "https://app.example.com"
    configured = create_app(make_settings(migrated_url, cors_origins=spa_origin))
    transport = httpx.ASGITransport(app=configured)
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
        user = await register(http)
        login = await http.post(
            "/auth/login",
            json={"email": user["email"], "password": PASSWORD},
            headers={"Origin": spa_origin},
        )
        assert login.status_code == 200
        refreshed = await http.post(
            "/auth/refresh",
            headers={CSRF_HEADER: http.cookies[CSRF_COOKIE], "Origin": spa_origin},
        )
    await configured.state.engine.dispose()
    assert refreshed.status_code == 200


async def test_logout_clears_cookies_and_revokes_the_session(browser: httpx.AsyncClient) -> None:
    _, access = await _browser_login(browser)

    response = await browser.post("/auth/logout", headers=_csrf(browser))

    assert response.status_code == 204
    assert response.headers["clear-site-data"] == '"cookies"'
    cleared = _set_cookies(response)
    assert "max-age=0" in cleared[REFRESH_COOKIE].lower()
    assert "max-age=0" in cleared[CSRF_COOKIE].lower()
    assert (await browser.get("/users/me", headers=bearer(access))).status_code == 401


async def test_logout_with_cookie_but_without_csrf_header_is_refused(
    browser: httpx.AsyncClient,
) -> None:
    _, access = await _browser_login(browser)

    response = await browser.post("/auth/logout")

    assert response.status_code == 403
    assert (await browser.get("/users/me", headers=bearer(access))).status_code == 200


async def test_logout_with_bearer_token_revokes_that_session(browser: httpx.AsyncClient) -> None:
    _, access = await _browser_login(browser)
    browser.cookies.clear()

    response = await browser.post("/auth/logout", headers=bearer(access))

    assert response.status_code == 204
    assert (await browser.get("/users/me", headers=bearer(access))).status_code == 401


async def test_refresh_cookie_after_logout_is_refused(browser: httpx.AsyncClient) -> None:
    await _browser_login(browser)
    refresh_cookie = browser.cookies[REFRESH_COOKIE]
    csrf_cookie = browser.cookies[CSRF_COOKIE]
    await browser.post("/auth/logout", headers=_csrf(browser))
    browser.cookies.set(REFRESH_COOKIE, refresh_cookie, domain="testserver", path="/auth")
    browser.cookies.set(CSRF_COOKIE, csrf_cookie, domain="testserver", path="/")

    response = await browser.post("/auth/refresh", headers={CSRF_HEADER: csrf_cookie})

    assert response.status_code == 401
