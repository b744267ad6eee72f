"""`POST /auth/login` (DESIGN.md §1.3, §5): no user enumeration, a session row per
sign-in, and audit events that never hold a password."""

from __future__ import annotations

import json
import uuid

import httpx
import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import Session, User
from tests.conftest import PASSWORD, bearer, login, register

WRONG_PASSWORD = "Wrong-Password-Quartz-Lantern"


async def failed_login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 401, response.text
    return response


async def events(db: AsyncSession, action: str) -> list[AuditEvent]:
    db.expire_all()
    result = await db.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    )
    return list(result)


async def test_login_opens_a_session_named_by_the_token(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    response = await client.post(
        "/auth/login",
        json={"email": user["email"].upper(), "password": PASSWORD},
        headers={"User-Agent": "login-test/1.0"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == user["id"]
    session = await db.get(Session, uuid.UUID(claims["sid"]))
    assert session is not None
    assert str(session.user_id) == user["id"]
    assert session.revoked_at is None
    assert session.ip == "203.0.113.7"
    assert session.user_agent == "login-test/1.0"


async def test_unknown_email_and_wrong_password_answer_identically(
    client: httpx.AsyncClient,
) -> None:
    user = await register(client)
    wrong_password = await failed_login(client, user["email"], WRONG_PASSWORD)
    unknown_email = await failed_login(client, "nobody-here@example.com", WRONG_PASSWORD)
    assert wrong_password.content == unknown_email.content
    assert wrong_password.json()["code"] == "invalid_credentials"
    assert wrong_password.headers["content-type"] == unknown_email.headers["content-type"]
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]
    assert wrong_password.headers["www-authenticate"].startswith("Bearer")


async def test_deactivated_user_login_is_the_same_401(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    await db.execute(update(User).where(User.email == user["email"]).values(is_active=False))
    await db.commit()
    deactivated = await failed_login(client, user["email"], PASSWORD)
    unknown_email = await failed_login(client, "nobody-here@example.com", PASSWORD)
    assert deactivated.content == unknown_email.content
    assert deactivated.json()["code"] == "invalid_credentials"
    assert await db.scalar(select(Session).where(Session.user_id == uuid.UUID(user["id"]))) is None


async def test_failed_logins_are_counted_and_a_success_resets_them(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    for _ in range(2):
        await failed_login(client, user["email"], WRONG_PASSWORD)
    db.expire_all()
    stored = await db.scalar(select(User).where(User.email == user["email"]))
    assert stored is not None
    assert stored.failed_login_count == 2
    await login(client, user["email"])
    await db.refresh(stored)
    assert stored.failed_login_count == 0


async def test_registration_and_logins_are_audited(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    user_id = user["id"]
    token = await login(client, user["email"])
    sid = jwt.decode(token, options={"verify_signature": False})["sid"]
    await failed_login(client, user["email"], WRONG_PASSWORD)
    await failed_login(client, "ghost@example.com", WRONG_PASSWORD)

    (registered,) = await events(db, "user.registered")
    assert registered.outcome == "success"
    assert str(registered.actor_user_id) == user_id
    assert (registered.target_type, registered.target_id) == ("user", user_id)
    assert registered.ip == "203.0.113.7"
    assert registered.request_id

    (succeeded,) = await events(db, "auth.login.succeeded")
    assert succeeded.outcome == "success"
    assert str(succeeded.actor_user_id) == user_id
    assert (succeeded.target_type, succeeded.target_id) == ("session", sid)

    wrong_password, unknown_email = await events(db, "auth.login.failed")
    assert wrong_password.outcome == unknown_email.outcome == "failure"
    assert str(wrong_password.actor_user_id) == user_id
    assert wrong_password.details["email"] == user["email"]
    assert unknown_email.actor_user_id is None
    assert unknown_email.details["email"] == "ghost@example.com"


async def test_no_password_or_hash_is_written_to_the_audit_trail(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client, full_name="Audit Subject")
    await login(client, user["email"])
    await failed_login(client, user["email"], WRONG_PASSWORD)
    await failed_login(client, "ghost@example.com", WRONG_PASSWORD)
    stored = await db.scalar(select(User).where(User.email == user["email"]))
    assert stored is not None

    all_events = list(await db.scalars(select(AuditEvent)))
    assert len(all_events) == 4
    for event in all_events:
        written = json.dumps(
            [event.details, event.target_id, event.user_agent, event.action], default=str
        )
        assert PASSWORD not in written
        assert WRONG_PASSWORD not in written
        assert stored.password_hash not in written
        assert "password" not in json.dumps(event.details).lower()


async def test_login_token_reaches_protected_route(client: httpx.AsyncClient) -> None:
    user = await register(client)
    token = await login(client, user["email"])
    me = await client.get("/users/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["email"] == user["email"]
