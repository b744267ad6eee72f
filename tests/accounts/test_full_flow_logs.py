"""A log capture over a whole account's life — register, login (browser and OAuth),
refresh, a failed login, reset, change password, logout — holds none of the passwords,
tokens, cookies or hashes used (DESIGN.md §1.2)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.identity.models import User
from tenantry.identity.routes.cookies import CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE
from tests.accounts.conftest import LogCapture, MailSink, link_token
from tests.conftest import PASSWORD, bearer, register

RESET_PASSWORD = "reset passphrase for logs 7"
CHANGED_PASSWORD = "changed passphrase for logs 9"


async def test_no_secret_of_a_full_flow_reaches_the_logs(
    client: httpx.AsyncClient, mailbox: MailSink, db: AsyncSession, captured_logs: LogCapture
) -> None:
    secrets: list[str] = [PASSWORD, RESET_PASSWORD, CHANGED_PASSWORD, "wrong password 31"]
    user = await register(client)
    email = user["email"]

    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    secrets += [login.json()["access_token"], client.cookies[REFRESH_COOKIE]]
    # Secure cookies are not sent over the test's plain http: send them by hand.
    refresh_cookie, csrf_cookie = client.cookies[REFRESH_COOKIE], client.cookies[CSRF_COOKIE]
    client.cookies.clear()
    refreshed = await client.post(
        "/auth/refresh",
        headers={
            CSRF_HEADER: csrf_cookie,
            "Cookie": f"{REFRESH_COOKIE}={refresh_cookie}; {CSRF_COOKIE}={csrf_cookie}",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    secrets.append(refreshed.json()["access_token"])
    secrets += [c.split("=", 1)[1].split(";")[0] for c in refreshed.headers.get_list("set-cookie")]
    grant = await client.post(
        "/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    pair = grant.json()
    rotated = await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    )
    secrets += [pair["access_token"], pair["refresh_token"], *rotated.json().values()]
    await client.post("/auth/login", json={"email": email, "password": "wrong password 31"})

    await client.post("/auth/password/forgot", json={"email": email})
    reset_token = link_token(mailbox.messages[-1], "reset-password")
    secrets.append(reset_token)
    done = await client.post(
        "/auth/password/reset", json={"token": reset_token, "new_password": RESET_PASSWORD}
    )
    assert done.status_code == 204

    fresh = await client.post("/auth/login", json={"email": email, "password": RESET_PASSWORD})
    access = fresh.json()["access_token"]
    secrets.append(access)
    changed = await client.post(
        "/auth/password/change",
        json={"current_password": RESET_PASSWORD, "new_password": CHANGED_PASSWORD},
        headers=bearer(access),
    )
    assert changed.status_code == 204
    assert (await client.post("/auth/logout", headers=bearer(access))).status_code == 204
    stored = (await db.execute(select(User.password_hash).where(User.email == email))).scalar_one()
    secrets.append(stored)

    lines = captured_logs.lines()
    assert any('"event": "request"' in line for line in lines)  # the capture sees requests
    leaked = {
        secret[:12]: [line for line in lines if secret in line]
        for secret in secrets
        if isinstance(secret, str) and len(secret) >= 8
    }
    assert {key: found for key, found in leaked.items() if found} == {}
