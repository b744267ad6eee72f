"""A password reset always stays possible and lifts every login lockout (DESIGN.md §6,
NIST SP 800-63B), including the one after too many consecutive failures."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tests.accounts.conftest import MailSink, client_for, smtp_settings
from tests.accounts.test_password_reset import NEW_PASSWORD, mailed_reset_token, reset
from tests.conftest import PASSWORD, register, unique_email


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/login", json={"email": email, "password": password})


async def test_reset_lifts_a_running_lockout(client: httpx.AsyncClient, mailbox: MailSink) -> None:
    user = await register(client)
    for _ in range(5):
        assert (await _login(client, user["email"], "wrong password 1")).status_code == 401
    assert (await _login(client, user["email"], PASSWORD)).status_code == 429

    token = await mailed_reset_token(client, mailbox, user["email"])
    assert (await reset(client, token)).status_code == 204

    assert (await _login(client, user["email"], NEW_PASSWORD)).status_code == 200


async def test_only_a_reset_unlocks_after_the_consecutive_failure_limit(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession
) -> None:
    user = await register(client)
    await db.execute(update(User).where(User.email == user["email"]).values(failed_login_count=100))
    await db.commit()
    assert (await _login(client, user["email"], PASSWORD)).status_code == 429

    token = await mailed_reset_token(client, mailbox, user["email"])
    assert (await reset(client, token)).status_code == 204

    assert (await _login(client, user["email"], NEW_PASSWORD)).status_code == 200


async def test_a_reset_also_unlocks_an_address_the_owner_signed_in_from(
    migrated_url: str, smtp_server: tuple[MailSink, int], mailbox: MailSink
) -> None:
    """A known source keeps counters of its own; a reset starts them afresh too."""
    _sink, port = smtp_server
    settings = smtp_settings(
        migrated_url, port, login_max_failures=1000, login_max_consecutive_failures=3
    )
    async with client_for(settings) as client:
        email = unique_email()
        await register(client, email)
        assert (await _login(client, email, PASSWORD)).status_code == 200
        statuses = [(await _login(client, email, "wrong password 1")).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert (await _login(client, email, PASSWORD)).status_code == 429

        token = await mailed_reset_token(client, mailbox, email)
        assert (await reset(client, token)).status_code == 204

        assert (await _login(client, email, NEW_PASSWORD)).status_code == 200
