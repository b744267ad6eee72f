"""Per-IP request limits (DESIGN.md §6): a limited request is 429 with Retry-After and
RateLimit-* headers; `RATE_LIMITS_ENABLED=false` lifts them."""

from __future__ import annotations

import httpx

from tests.abuse.conftest import AppClient
from tests.conftest import PASSWORD, register, unique_email


async def _login(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": "wrong-password-1"})


async def test_login_is_limited_per_client_ip(app_client: AppClient) -> None:
    async with app_client(rate_limits_enabled=True, rate_limit_login="3/minute") as (_app, http):
        statuses = [(await _login(http, unique_email())).status_code for _ in range(3)]
        limited = await _login(http, unique_email())
    assert statuses == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-limit"] == "3"
    assert limited.headers["ratelimit-remaining"] == "0"


async def test_register_is_limited_per_client_ip(app_client: AppClient) -> None:
    async with app_client(rate_limits_enabled=True, rate_limit_register="2/hour") as (_app, http):
        await register(http)
        await register(http)
        response = await http.post(
            "/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"


async def test_refresh_grant_and_cookie_refresh_share_one_limit(app_client: AppClient) -> None:
    async with app_client(rate_limits_enabled=True, rate_limit_refresh="2/minute") as (_app, http):
        first = await http.post("/auth/refresh")
        second = await http.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}
        )
        third = await http.post(
            "/auth/token", data={"grant_type": "refresh_token", "refresh_token": "x"}
        )
    assert (first.status_code, second.status_code) == (401, 400)
    assert third.status_code == 429
    assert third.json()["error"] == "rate_limited"
    assert "retry-after" in third.headers


async def test_disabled_limits_let_requests_through(app_client: AppClient) -> None:
    async with app_client(rate_limits_enabled=False, rate_limit_login="1/minute") as (_app, http):
        statuses = {(await _login(http, unique_email())).status_code for _ in range(5)}
    assert statuses == {401}


async def test_forgot_password_is_limited_per_email_whether_or_not_it_exists(
    app_client: AppClient,
) -> None:
    settings = {"rate_limits_enabled": True, "rate_limit_mail_per_email": "2/hour"}
    async with app_client(**settings) as (_app, http):
        answers = {}
        for email in ("ghost-address@example.com", (await register(http))["email"]):
            statuses = [
                (await http.post("/auth/password/forgot", json={"email": email})).status_code
                for _ in range(3)
            ]
            answers[email] = statuses
    assert list(answers.values()) == [[202, 202, 429], [202, 202, 429]]


async def test_forgot_password_is_limited_per_client_ip(app_client: AppClient) -> None:
    settings = {"rate_limits_enabled": True, "rate_limit_mail_per_ip": "3/hour"}
    async with app_client(**settings) as (_app, http):
        statuses = [
            (await http.post("/auth/password/forgot", json={"email": unique_email()})).status_code
            for _ in range(4)
        ]
    assert statuses == [202, 202, 202, 429]
