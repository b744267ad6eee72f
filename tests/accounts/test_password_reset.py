from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow
from tenantry.identity.accounts import RESET_REQUESTED
from tenantry.identity.models import OneTimeToken, Session, User
from tests.accounts.conftest import MailSink, html_body, link_token
from tests.conftest import PASSWORD, bearer, login, register, unique_email

NEW_PASSWORD = "a brand new passphrase 42"


async def forgot(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/password/forgot", json={"email": email})


async def reset(
    client: httpx.AsyncClient, token: str, new_password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        "/auth/password/reset", json={"token": token, "new_password": new_password}
    )


async def mailed_reset_token(client: httpx.AsyncClient, mailbox: MailSink, email: str) -> str:
    before = len(mailbox.messages)
    response = await forgot(client, email)
    assert response.status_code == 202, response.text
    assert len(mailbox.messages) == before + 1
    return link_token(mailbox.messages[-1], "reset-password")


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_token"


async def test_forgot_password_mails_a_link_that_resets_the_password(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    old_tokens = [await login(client, user["email"]) for _ in range(2)]

    response = await forgot(client, f"  {user['email'].upper()} ")
    assert response.status_code == 202
    assert response.json() == {"detail": RESET_REQUESTED}

    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == user["email"]
    assert message["From"] == "no-reply@localhost"
    assert mailbox.envelopes[0].rcpt_tos == [user["email"]]
    assert "password" in message["Subject"].lower()
    token = link_token(message, "reset-password")
    assert f"https://app.example.test/reset-password?token={token}" in html_body(message)

    assert (await reset(client, token)).status_code == 204

    for old in old_tokens:
        me = await client.get("/users/me", headers=bearer(old))
        assert me.status_code == 401
        assert me.json()["code"] == "invalid_token"
    refused = await client.post("/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert refused.status_code == 401
    fresh = await login(client, user["email"], NEW_PASSWORD)
    assert (await client.get("/users/me", headers=bearer(fresh))).status_code == 200

    user_id = uuid.UUID(user["id"])
    sessions = (await db.execute(select(Session).where(Session.user_id == user_id))).scalars()
    reasons = sorted(s.revoked_reason or "live" for s in sessions)
    assert reasons == ["live", "password_reset", "password_reset"]
    actions = (
        await db.execute(
            select(AuditEvent.action, AuditEvent.details).where(
                AuditEvent.target_id == str(user_id),
                AuditEvent.action.like("password.%"),
            )
        )
    ).all()
    assert sorted(action for action, _ in actions) == [
        "password.reset.completed",
        "password.reset.requested",
    ]
    for _action, details in actions:
        assert token not in str(details)
        assert NEW_PASSWORD not in str(details)


async def test_reset_ends_refresh_tokens_of_every_session(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    grant = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": user["email"], "password": PASSWORD},
    )
    assert grant.status_code == 200, grant.text
    token = await mailed_reset_token(client, mailbox, user["email"])
    assert (await reset(client, token)).status_code == 204

    refreshed = await client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": grant.json()["refresh_token"]},
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"


async def test_reset_token_works_only_once(client: httpx.AsyncClient, mailbox: MailSink) -> None:
    user = await register(client)
    token = await mailed_reset_token(client, mailbox, user["email"])
    assert (await reset(client, token)).status_code == 204
    assert_invalid_token(await reset(client, token, "yet another passphrase 7"))
    await login(client, user["email"], NEW_PASSWORD)


async def test_fifty_concurrent_resets_with_one_link_spend_it_once(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    token = await mailed_reset_token(client, mailbox, user["email"])

    responses = await asyncio.gather(
        *(reset(client, token, f"concurrent passphrase {n}") for n in range(50))
    )

    statuses = [response.status_code for response in responses]
    assert sorted(statuses) == [204] + [400] * 49
    winner = statuses.index(204)
    await login(client, user["email"], f"concurrent passphrase {winner}")


async def test_expired_reset_token_is_refused(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    token = await mailed_reset_token(client, mailbox, user["email"])
    await db.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == uuid.UUID(user["id"]))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    assert_invalid_token(await reset(client, token))
    await login(client, user["email"])


async def test_reset_link_lives_one_hour_by_default(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    await mailed_reset_token(client, mailbox, user["email"])
    row = (
        await db.execute(select(OneTimeToken).where(OneTimeToken.user_id == uuid.UUID(user["id"])))
    ).scalar_one()
    assert row.purpose == "reset_password"
    assert len(row.token_hash) == 32
    lifetime = row.expires_at - utcnow()
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)


async def test_verification_token_cannot_reset_a_password(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    access = await login(client, user["email"])
    assert (await client.post("/auth/verify/request", headers=bearer(access))).status_code == 202
    verification = link_token(mailbox.messages[-1], "verify-email")
    assert_invalid_token(await reset(client, verification))
    # Refused for reset, it is still a good verification token.
    assert (await client.post("/auth/verify", json={"token": verification})).status_code == 204


async def test_a_new_request_supersedes_the_previous_link(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    first = await mailed_reset_token(client, mailbox, user["email"])
    second = await mailed_reset_token(client, mailbox, user["email"])
    assert first != second
    assert_invalid_token(await reset(client, first))
    assert (await reset(client, second)).status_code == 204


async def test_unknown_and_garbage_tokens_are_refused(client: httpx.AsyncClient) -> None:
    await register(client)
    assert_invalid_token(await reset(client, "x" * 43))
    assert_invalid_token(await reset(client, "not a token at all"))
    too_long = await reset(client, "x" * 1000)
    assert too_long.status_code == 422


async def test_weak_new_password_keeps_the_link_usable(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    token = await mailed_reset_token(client, mailbox, user["email"])
    weak = await reset(client, token, "qwertyuiop")
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert "qwertyuiop" not in weak.text
    assert (await reset(client, token)).status_code == 204


async def test_forgot_password_answers_unknown_addresses_identically_and_mails_nothing(
    client: httpx.AsyncClient, mailbox: MailSink
) -> None:
    user = await register(client)
    known = await forgot(client, user["email"])
    assert len(mailbox.messages) == 1
    unknown = await forgot(client, unique_email("nobody"))
    assert len(mailbox.messages) == 1
    assert unknown.status_code == known.status_code == 202
    assert unknown.content == known.content
    assert unknown.headers["content-type"] == known.headers["content-type"]


async def test_deactivated_account_gets_no_reset_mail(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    token = await mailed_reset_token(client, mailbox, user["email"])
    access = await login(client, user["email"])
    assert (await client.delete("/users/me", headers=bearer(access))).status_code == 204

    response = await forgot(client, user["email"])
    assert response.status_code == 202
    assert response.json() == {"detail": RESET_REQUESTED}
    assert len(mailbox.messages) == 1
    # A link mailed before deactivation does not bring the account back either.
    assert_invalid_token(await reset(client, token))


async def test_reset_unlocks_an_account_and_verifies_its_address(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    user_id = uuid.UUID(user["id"])
    await db.execute(update(User).where(User.id == user_id).values(failed_login_count=100))
    await db.commit()
    before = utcnow()
    token = await mailed_reset_token(client, mailbox, user["email"])
    assert (await reset(client, token)).status_code == 204

    db.expire_all()
    row = (await db.execute(select(User).where(User.id == user_id))).scalar_one()
    assert row.failed_login_count == 0
    assert row.password_changed_at >= before
    assert row.email_verified_at is not None
