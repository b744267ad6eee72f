"""The lockout under bursts of concurrent guesses (DESIGN.md §6, issue 13 defects 1 and 2):
every attempt is counted before its password is verified, in memory and in Redis, and
the durable failure count in the database loses no update."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import User
from tests.abuse.conftest import AppClient
from tests.conftest import PASSWORD, bearer, register, unique_email

WRONG = "definitely-not-the-password"
OWNER_IP = "192.0.2.10"
STRANGER_IP = "192.0.2.66"


@asynccontextmanager
async def client_from(app: Any, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _login(http: httpx.AsyncClient, email: str, password: str = WRONG) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": password})


async def _burst(http: httpx.AsyncClient, email: str, passwords: list[str]) -> list[int]:
    responses = await asyncio.gather(*(_login(http, email, password) for password in passwords))
    return [response.status_code for response in responses]


async def _stored_failures(db: AsyncSession, user: dict[str, Any]) -> int:
    count = await db.scalar(select(User.failed_login_count).where(User.id == uuid.UUID(user["id"])))
    return int(count or 0)


async def _events(db: AsyncSession, action: str, email: str) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.details["email"].as_string() == email)
    )
    return int(count or 0)


async def test_a_burst_of_guesses_gets_at_most_max_failures_verifications(
    app_client: AppClient, store: dict[str, str], db: AsyncSession
) -> None:
    async with app_client(**store) as (_app, http):
        user = await register(http)

        statuses = await _burst(http, user["email"], [WRONG] * 100)

        assert Counter(statuses) == {401: 5, 429: 95}
        assert (await _login(http, user["email"], PASSWORD)).status_code == 429
    assert await _events(db, "auth.login.failed", user["email"]) == 5
    assert await _events(db, "auth.locked", user["email"]) == 1
    assert await _stored_failures(db, user) == 5


async def test_the_right_password_in_a_burst_never_gets_in_once_the_limit_is_reached(
    app_client: AppClient, store: dict[str, str]
) -> None:
    async with app_client(**store) as (_app, http):
        for _round in range(3):
            user = await register(http)
            for _ in range(4):
                assert (await _login(http, user["email"])).status_code == 401
            # One verification is left before the lock: 19 wrong guesses and the
            # right password race for it.
            statuses = Counter(await _burst(http, user["email"], [WRONG] * 19 + [PASSWORD]))
            if statuses[200]:
                # The right password won the last slot; a success resets the count,
                # so late guesses start a fresh count that locks again at 5.
                assert statuses[401] <= 5, statuses
            else:
                assert statuses == {401: 1, 429: 19}, statuses
                assert (await _login(http, user["email"], PASSWORD)).status_code == 429


async def test_an_unknown_email_locks_exactly_like_a_real_one_under_a_burst(
    app_client: AppClient, store: dict[str, str]
) -> None:
    async with app_client(**store) as (_app, http):
        real = (await register(http))["email"]
        answers = {}
        for email in (real, unique_email("ghost")):
            statuses = await _burst(http, email, [WRONG] * 50)
            answers[email] = (Counter(statuses), (await _login(http, email, PASSWORD)).status_code)
    assert list(answers.values()) == [(Counter({401: 5, 429: 45}), 429)] * 2


async def test_concurrent_failures_are_all_counted_in_the_database(
    app_client: AppClient, store: dict[str, str], db: AsyncSession
) -> None:
    limits = {"login_max_failures": 1000, "login_max_consecutive_failures": 1000}
    async with app_client(**store, **limits) as (_app, http):
        user = await register(http)

        statuses = await _burst(http, user["email"], [WRONG] * 100)

        assert statuses == [401] * 100
    assert await _stored_failures(db, user) == 100


async def test_the_reset_only_lock_survives_a_lost_limits_storage(
    app_client: AppClient, store: dict[str, str], db: AsyncSession
) -> None:
    async with app_client(**store, login_max_failures=1000, login_max_consecutive_failures=20) as (
        app,
        http,
    ):
        user = await register(http)
        statuses = await _burst(http, user["email"], [WRONG] * 30)
        assert Counter(statuses) == {401: 20, 429: 10}

        await app.state.limits_storage.reset()  # a Redis restart without persistence

        refused = await _login(http, user["email"], PASSWORD)
        assert refused.status_code == 429
        assert refused.json()["code"] == "too_many_attempts"
    reset_required = await db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "auth.locked", AuditEvent.target_id == user["id"])
    )
    assert reset_required == 1


async def test_a_stranger_cannot_lock_the_owner_out_of_an_address_they_signed_in_from(
    app_client: AppClient, store: dict[str, str], db: AsyncSession
) -> None:
    async with (
        app_client(**store) as (app, _http),
        client_from(app, OWNER_IP) as owner,
        client_from(app, STRANGER_IP) as stranger,
    ):
        user = await register(owner)
        assert (await _login(owner, user["email"], PASSWORD)).status_code == 200

        statuses = await _burst(stranger, user["email"], [WRONG] * 100)
        assert Counter(statuses) == {401: 5, 429: 95}
        assert (await _login(stranger, user["email"], PASSWORD)).status_code == 429

        # Even past the reset-only limit, the owner's address still signs in.
        limit = app.state.settings.login_max_consecutive_failures
        await db.execute(
            update(User).where(User.id == uuid.UUID(user["id"])).values(failed_login_count=limit)
        )
        await db.commit()
        assert (await _login(owner, user["email"], PASSWORD)).status_code == 200

        # ... and keeps a lockout of its own for guesses made from it.
        owner_guesses = await _burst(owner, user["email"], [WRONG] * 20)
        assert Counter(owner_guesses) == {401: 5, 429: 15}
        assert (await _login(owner, user["email"], PASSWORD)).status_code == 429


async def test_a_burst_of_current_password_guesses_is_locked_out_like_logins(
    app_client: AppClient, store: dict[str, str]
) -> None:
    async with app_client(**store) as (_app, http):
        user = await register(http)
        token = (await _login(http, user["email"], PASSWORD)).json()["access_token"]

        responses = await asyncio.gather(
            *(
                http.post(
                    "/auth/password/change",
                    json={"current_password": f"guess number {n}", "new_password": "x" * 20},
                    headers=bearer(token),
                )
                for n in range(40)
            )
        )

        assert Counter(r.status_code for r in responses) == {400: 5, 429: 35}
        assert {r.json()["code"] for r in responses if r.status_code == 429} == {
            "too_many_attempts"
        }
        right = await http.post(
            "/auth/password/change",
            json={"current_password": PASSWORD, "new_password": "a brand new passphrase 42"},
            headers=bearer(token),
        )
        assert right.status_code == 429
        # The same lockout as login's: the right password does not sign in either.
        assert (await _login(http, user["email"], PASSWORD)).status_code == 429


async def test_current_password_guesses_count_against_the_per_ip_login_limit(
    app_client: AppClient, store: dict[str, str]
) -> None:
    limits = {"rate_limits_enabled": True, "login_max_failures": 1000}
    async with app_client(**store, **limits) as (_app, http):
        user = await register(http)
        token = (await _login(http, user["email"], PASSWORD)).json()["access_token"]
        responses = await asyncio.gather(
            *(
                http.post(
                    "/auth/password/change",
                    json={"current_password": WRONG, "new_password": "x" * 20},
                    headers=bearer(token),
                )
                for _ in range(30)
            )
        )
        # One login and 19 guesses fill the 20 per minute.
        assert Counter(r.status_code for r in responses) == {400: 19, 429: 11}
        assert {r.json()["code"] for r in responses if r.status_code == 429} == {"rate_limited"}


async def test_concurrent_right_passwords_are_told_to_retry_at_once_and_then_get_in(
    app_client: AppClient, store: dict[str, str]
) -> None:
    """Ten workers of one API client asking for tokens at the same moment: the slots
    in flight are counted like failures, but nobody is locked out for it."""
    async with app_client(**store) as (_app, http):
        user = await register(http)
        grant = {"grant_type": "password", "username": user["email"], "password": PASSWORD}

        responses = await asyncio.gather(*(http.post("/auth/token", data=grant) for _ in range(10)))

        refused = [r for r in responses if r.status_code != 200]
        assert {(r.status_code, r.headers["retry-after"]) for r in refused} <= {(429, "1")}
        for _ in refused:
            assert (await http.post("/auth/token", data=grant)).status_code == 200
