"""Tokens stay out of logs (DESIGN.md §1.2), and a mail failure never reaches the caller."""

from __future__ import annotations

import hashlib
import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.accounts import RESET_REQUESTED
from tenantry.identity.models import OneTimeToken
from tests.accounts.conftest import (
    FRONTEND_URL,
    LogCapture,
    MailSink,
    client_for,
    free_port,
    link_token,
    smtp_settings,
)
from tests.conftest import PASSWORD, bearer, login, make_settings, register, unique_email

NEW_PASSWORD = "a brand new passphrase 42"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


async def issued_digests(db: AsyncSession) -> set[bytes]:
    return set((await db.execute(select(OneTimeToken.token_hash))).scalars())


def logged_tokens(lines: list[str], digests: set[bytes]) -> list[str]:
    """Lines holding any issued one-time token, found by hashing every token-shaped string:
    this catches tokens the test never saw (a mail that was never delivered)."""
    return [
        line
        for line in lines
        if any(
            hashlib.sha256(candidate.encode()).digest() in digests
            for candidate in TOKEN_SHAPE.findall(line)
        )
        or any(digest.hex() in line for digest in digests)
    ]


async def test_no_token_or_password_is_logged_during_the_mail_flows(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession, captured_logs: LogCapture
) -> None:
    user = await register(client)
    access = await login(client, user["email"])

    await client.post("/auth/verify/request", headers=bearer(access))
    verification = link_token(mailbox.messages[-1], "verify-email")
    assert (await client.post("/auth/verify", json={"token": verification})).status_code == 204

    await client.post("/auth/password/forgot", json={"email": user["email"]})
    superseded = link_token(mailbox.messages[-1], "reset-password")
    await client.post("/auth/password/forgot", json={"email": user["email"]})
    reset = link_token(mailbox.messages[-1], "reset-password")
    refused = await client.post(
        "/auth/password/reset", json={"token": superseded, "new_password": NEW_PASSWORD}
    )
    assert refused.status_code == 400
    done = await client.post(
        "/auth/password/reset", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    access = await login(client, user["email"], NEW_PASSWORD)
    changed = await client.post(
        "/auth/password/change",
        json={"current_password": NEW_PASSWORD, "new_password": PASSWORD},
        headers=bearer(access),
    )
    assert changed.status_code == 204

    lines = captured_logs.lines()
    assert any('"event": "mail_sent"' in line for line in lines)  # the capture does see us
    for secret in (verification, superseded, reset, NEW_PASSWORD, PASSWORD):
        assert not [line for line in lines if secret in line], secret
    assert logged_tokens(lines, await issued_digests(db)) == []


async def test_without_smtp_host_development_logs_the_mail_and_nothing_else_holds_the_token(
    migrated_url: str, db: AsyncSession, captured_logs: LogCapture
) -> None:
    settings = make_settings(migrated_url, environment="development", frontend_url=FRONTEND_URL)
    async with client_for(settings) as client:
        captured_logs.install()
        email = unique_email()
        await register(client, email=email)
        response = await client.post("/auth/password/forgot", json={"email": email})
        assert response.status_code == 202

        lines = captured_logs.lines()
        holding = logged_tokens(lines, await issued_digests(db))
        assert len(holding) == 1
        [mail_line] = holding
        assert '"event": "mail_logged_not_sent"' in mail_line
        assert email in mail_line

        # A person can follow the flow from the log line alone.
        token = re.findall(rf"{FRONTEND_URL}/reset-password\?token=([A-Za-z0-9_-]+)", mail_line)[0]
        done = await client.post(
            "/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert done.status_code == 204
        assert sum(token in line for line in captured_logs.lines()) == 1


async def test_mail_failure_is_retried_logged_and_invisible_to_the_caller(
    migrated_url: str, db: AsyncSession, captured_logs: LogCapture
) -> None:
    nothing_listens = free_port()
    settings = smtp_settings(migrated_url, nothing_listens, mail_send_attempts=3)
    async with client_for(settings) as client:
        captured_logs.install()
        user = await register(client)
        known = await client.post("/auth/password/forgot", json={"email": user["email"]})
        unknown = await client.post("/auth/password/forgot", json={"email": unique_email()})
        assert known.status_code == unknown.status_code == 202
        assert known.content == unknown.content
        assert known.json() == {"detail": RESET_REQUESTED}

        access = await login(client, user["email"])
        verification = await client.post("/auth/verify/request", headers=bearer(access))
        assert verification.status_code == 202

    lines = captured_logs.lines()
    failures = [line for line in lines if '"event": "mail_send_failed"' in line]
    assert len(failures) == 6  # two mails, three attempts each
    assert sum('"attempt": 3' in line for line in failures) == 2
    assert sum('"event": "mail_dropped"' in line for line in lines) == 2
    digests = await issued_digests(db)
    assert len(digests) == 2  # the tokens were issued; only their delivery failed
    assert logged_tokens(lines, digests) == []
