"""Per-email login lockout (DESIGN.md §6): counted whether or not the account exists,
doubling, refusing even the right password, reset by a success."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import User
from tests.abuse.conftest import AppClient
from tests.conftest import PASSWORD, register

WRONG = "definitely-not-the-password"


async def _attempt(http: httpx.AsyncClient, email: str, password: str = WRONG) -> httpx.Response:
    return await http.post("/auth/login", json={"email": email, "password": password})


async def test_five_failures_lock_the_email_and_the_right_password_is_refused(
    app_client: AppClient, db: AsyncSession
) -> None:
    async with app_client() as (_app, http):
        user = await register(http)
        statuses = [(await _attempt(http, user["email"])).status_code for _ in range(5)]
        assert statuses == [401] * 5

        locked = await _attempt(http, user["email"], PASSWORD)

        assert locked.status_code == 429
        assert locked.json()["code"] == "too_many_attempts"
        assert 1 <= int(locked.headers["retry-after"]) <= 60
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "auth.locked"))
    ).scalar_one()
    assert event.target_id == user["id"]
    assert event.details["seconds"] == 60


async def test_lockout_of_an_unknown_email_looks_exactly_like_a_real_one(
    app_client: AppClient,
) -> None:
    async with app_client() as (_app, http):
        real = await register(http)
        answers = {}
        for email in (real["email"], "never-registered@example.com"):
            failures = [await _attempt(http, email) for _ in range(5)]
            locked = await _attempt(http, email)
            answers[email] = (
                [(r.status_code, r.json()) for r in failures],
                locked.status_code,
                locked.json(),
                locked.headers["retry-after"],
                sorted(locked.headers.keys() - {"x-request-id", "content-length", "date"}),
            )
    assert answers[real["email"]] == answers["never-registered@example.com"]


async def test_lockouts_double_up_to_the_maximum(app_client: AppClient) -> None:
    settings = {
        "login_max_failures": 2,
        "login_lockout_seconds": 1,
        "login_lockout_max_seconds": 3,
    }
    async with app_client(**settings) as (_app, http):
        email = "doubling@example.com"
        retry_afters = []
        for _ in range(3):
            for _ in range(2):
                assert (await _attempt(http, email)).status_code == 401
            locked = await _attempt(http, email)
            assert locked.status_code == 429
            retry_after = int(locked.headers["retry-after"])
            retry_afters.append(retry_after)
            await asyncio.sleep(retry_after + 0.1)
    assert retry_afters == [1, 2, 3]


async def test_a_success_resets_the_failure_count(app_client: AppClient) -> None:
    async with app_client() as (_app, http):
        user = await register(http)
        for _ in range(4):
            assert (await _attempt(http, user["email"])).status_code == 401
        assert (await _attempt(http, user["email"], PASSWORD)).status_code == 200
        for _ in range(4):
            assert (await _attempt(http, user["email"])).status_code == 401
        assert (await _attempt(http, user["email"], PASSWORD)).status_code == 200


async def test_after_the_consecutive_failure_limit_only_a_reset_unlocks(
    app_client: AppClient, db: AsyncSession
) -> None:
    async with app_client() as (app, http):
        user = await register(http)
        limit = app.state.settings.login_max_consecutive_failures
        await db.execute(
            update(User).where(User.email == user["email"]).values(failed_login_count=limit)
        )
        await db.commit()

        refused = await _attempt(http, user["email"], PASSWORD)

        assert refused.status_code == 429
        assert refused.json()["code"] == "too_many_attempts"


async def test_unknown_email_consecutive_failures_lock_the_same_way(app_client: AppClient) -> None:
    async with app_client(login_max_failures=50, login_max_consecutive_failures=3) as (_app, http):
        for _ in range(3):
            assert (await _attempt(http, "ghost@example.com")).status_code == 401
        assert (await _attempt(http, "ghost@example.com")).status_code == 429


async def test_password_grant_shares_the_lockout(app_client: AppClient) -> None:
    async with app_client() as (_app, http):
        user = await register(http)
        for _ in range(5):
            assert (await _attempt(http, user["email"])).status_code == 401
        response = await http.post(
            "/auth/token",
            data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
        )
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_attempts"
    assert int(response.headers["retry-after"]) >= 1


async def test_lockout_stays_on_when_rate_limits_are_disabled(app_client: AppClient) -> None:
    async with app_client(rate_limits_enabled=False) as (_app, http):
        for _ in range(5):
            await _attempt(http, "still-locked@example.com")
        assert (await _attempt(http, "still-locked@example.com")).status_code == 429


async def test_lockout_state_is_keyed_by_a_hash_not_the_email(app_client: AppClient) -> None:
    async with app_client() as (app, http):
        await _attempt(http, "private-address@example.com")
        storage: Any = app.state.limits_storage
        stored = " ".join(str(key) for key in getattr(storage, "storage", {}))
    assert "private-address" not in stored
