from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow
from tenantry.identity.accounts import VERIFICATION_REQUESTED
from tenantry.identity.models import OneTimeToken
from tests.accounts.conftest import MailSink, client_for, html_body, link_token, smtp_settings
from tests.conftest import PASSWORD, bearer, login, register, unique_email


async def request_verification(client: httpx.AsyncClient, access: str) -> httpx.Response:
    return await client.post("/auth/verify/request", headers=bearer(access))


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/auth/verify", json={"token": token})


async def test_verification_link_confirms_the_address(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    assert mailbox.messages == []  # verification is optional by default: no mail on register
    access = await login(client, user["email"])

    response = await request_verification(client, access)
    assert response.status_code == 202
    assert response.json() == {"detail": VERIFICATION_REQUESTED}
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == user["email"]
    token = link_token(message, "verify-email")
    assert f"https://app.example.test/verify-email?token={token}" in html_body(message)

    assert (await verify(client, token)).status_code == 204
    me = (await client.get("/users/me", headers=bearer(access))).json()
    assert me["email_verified_at"] is not None

    again = await verify(client, token)
    assert again.status_code == 400
    assert again.json()["code"] == "invalid_token"

    event = (
        await db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "email.verified", AuditEvent.target_id == user["id"]
            )
        )
    ).scalar_one()
    assert event.actor_user_id == uuid.UUID(user["id"])
    assert token not in str(event.details)


async def test_verification_link_lives_24_hours(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    await request_verification(client, await login(client, user["email"]))
    row = (
        await db.execute(select(OneTimeToken).where(OneTimeToken.user_id == uuid.UUID(user["id"])))
    ).scalar_one()
    assert row.purpose == "verify_email"
    assert timedelta(hours=23, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=24)
    assert "24 hours" in mailbox.messages[0].as_string()


async def test_already_verified_user_gets_the_same_answer_and_no_mail(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    access = await login(client, user["email"])
    first = await request_verification(client, access)
    token = link_token(mailbox.messages[-1], "verify-email")
    assert (await verify(client, token)).status_code == 204

    second = await request_verification(client, access)
    assert second.status_code == 202
    assert second.content == first.content
    assert len(mailbox.messages) == 1


async def test_verification_request_requires_a_signed_in_user(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/verify/request")
    assert response.status_code == 401


async def test_refused_verification_tokens(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    access = await login(client, user["email"])
    await request_verification(client, access)
    superseded = link_token(mailbox.messages[-1], "verify-email")
    await request_verification(client, access)
    current = link_token(mailbox.messages[-1], "verify-email")
    await client.post("/auth/password/forgot", json={"email": user["email"]})
    reset_token = link_token(mailbox.messages[-1], "reset-password")

    for refused in (superseded, reset_token, "y" * 43):
        response = await verify(client, refused)
        assert response.status_code == 400, refused
        assert response.json()["code"] == "invalid_token"

    await db.execute(
        update(OneTimeToken)
        .where(OneTimeToken.purpose == "verify_email", OneTimeToken.used_at.is_(None))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    expired = await verify(client, current)
    assert expired.status_code == 400
    assert expired.json()["code"] == "invalid_token"
    me = (await client.get("/users/me", headers=bearer(access))).json()
    assert me["email_verified_at"] is None


async def test_required_verification_blocks_login_until_the_link_is_followed(
    migrated_url: str, smtp_server: tuple[MailSink, int], mailbox: MailSink
) -> None:
    _sink, port = smtp_server
    settings = smtp_settings(migrated_url, port, email_verification_required=True)
    async with client_for(settings) as client:
        email = unique_email()
        await register(client, email=email)
        assert len(mailbox.messages) == 1
        token = link_token(mailbox.messages[0], "verify-email")

        blocked = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "email_not_verified"

        assert (await verify(client, token)).status_code == 204
        access = await login(client, email)
        me = await client.get("/users/me", headers=bearer(access))
        assert me.json()["email_verified_at"] is not None


async def test_required_verification_can_be_recovered_by_a_new_link(
    migrated_url: str, smtp_server: tuple[MailSink, int], mailbox: MailSink
) -> None:
    """A user who lost the registration mail cannot sign in to ask for another, but a
    password reset proves the mailbox just as well."""
    _sink, port = smtp_server
    settings = smtp_settings(migrated_url, port, email_verification_required=True)
    async with client_for(settings) as client:
        email = unique_email()
        await register(client, email=email)
        await client.post("/auth/password/forgot", json={"email": email})
        token = link_token(mailbox.messages[-1], "reset-password")
        new_password = "recovered passphrase 11"
        response = await client.post(
            "/auth/password/reset", json={"token": token, "new_password": new_password}
        )
        assert response.status_code == 204
        await login(client, email, new_password)
