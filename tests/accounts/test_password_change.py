from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tests.accounts.conftest import MailSink, link_token
from tests.conftest import PASSWORD, bearer, login, register

NEW_PASSWORD = "a brand new passphrase 42"


async def change(
    client: httpx.AsyncClient, token: str, current: str = PASSWORD, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/password/change",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


async def test_change_keeps_this_session_and_ends_every_other(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    current, *others = [await login(client, user["email"]) for _ in range(3)]

    assert (await change(client, current)).status_code == 204

    assert (await client.get("/users/me", headers=bearer(current))).status_code == 200
    for other in others:
        refused = await client.get("/users/me", headers=bearer(other))
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"
    old = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert old.status_code == 401
    await login(client, user["email"], NEW_PASSWORD)

    event = (
        await db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "password.changed",
                AuditEvent.target_id == user["id"],
            )
        )
    ).scalar_one()
    assert event.outcome == "success"
    assert event.actor_user_id == uuid.UUID(user["id"])
    assert event.details == {"sessions_revoked": 2}


async def test_change_keeps_refresh_of_this_session_and_ends_the_others(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    grants = []
    for _ in range(2):
        response = await client.post(
            "/auth/token",
            data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        grants.append(response.json())
    assert (await change(client, grants[0]["access_token"])).status_code == 204

    kept = await client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": grants[0]["refresh_token"]},
    )
    assert kept.status_code == 200, kept.text
    ended = await client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": grants[1]["refresh_token"]},
    )
    assert ended.status_code == 400
    assert ended.json()["error"] == "invalid_grant"


async def test_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    current = await login(client, user["email"])
    other = await login(client, user["email"])

    response = await change(client, current, current="not my password at all")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_current_password"
    assert "www-authenticate" not in response.headers

    assert (await client.get("/users/me", headers=bearer(other))).status_code == 200
    await login(client, user["email"], PASSWORD)
    failure = (
        await db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "password.changed", AuditEvent.target_id == user["id"]
            )
        )
    ).scalar_one()
    assert failure.outcome == "failure"
    assert "not my password" not in str(failure.details)


async def test_weak_new_password_is_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    current = await login(client, user["email"])
    response = await change(client, current, new="short")
    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    await login(client, user["email"], PASSWORD)


async def test_change_requires_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/password/change", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_change_cancels_an_outstanding_reset_link(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    assert (
        await client.post("/auth/password/forgot", json={"email": user["email"]})
    ).status_code == 202
    reset_token = link_token(mailbox.messages[-1], "reset-password")
    current = await login(client, user["email"])
    assert (await change(client, current)).status_code == 204

    response = await client.post(
        "/auth/password/reset", json={"token": reset_token, "new_password": "attacker choice 99"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token"
    await login(client, user["email"], NEW_PASSWORD)


async def test_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    user = await register(client)
    current = await login(client, user["email"])
    response = await client.post(
        "/auth/password/change",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "user_id": user["id"]},
        headers=bearer(current),
    )
    assert response.status_code == 422
    assert PASSWORD not in response.text
