"""The second step of sign-in (DESIGN.md §10): `mfa_required` on /auth/login and the
password grant, `/auth/mfa/verify` and the mfa grant, replay, single use, expiry, the
try limit, the lockout, and that nothing about factors shows before the password."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow
from tenantry.identity.models import MfaChallenge, Session
from tests.conftest import PASSWORD, bearer, register
from tests.mfa.conftest import Enrolled, start_login

MFA_GRANT = "urn:tenantry:params:oauth:grant-type:mfa"


async def actions(db: AsyncSession, action: str) -> list[AuditEvent]:
    return list(await db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


async def test_right_password_gives_a_challenge_and_no_session(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    sessions_before = len(list(await db.scalars(select(Session))))
    response = await client.post(
        "/auth/login", json={"email": enrolled.user["email"], "password": PASSWORD}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["code"] == "mfa_required"
    assert body["factors"] == ["totp", "recovery_code"]
    assert len(body["mfa_token"]) >= 43
    assert "refresh_token" not in response.cookies
    assert len(list(await db.scalars(select(Session)))) == sessions_before
    stored = await db.scalar(select(MfaChallenge))
    assert stored is not None
    assert body["mfa_token"].encode() not in stored.token_hash
    assert stored.tries_left == 5
    assert stored.amr == ["pwd"]
    assert stored.ip == "203.0.113.7"


async def test_verify_with_totp_signs_in_like_login(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    mfa_token = await start_login(client, enrolled.user["email"])
    response = await client.post(
        "/auth/mfa/verify", json={"mfa_token": mfa_token, "code": enrolled.code(1)}
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    assert "tenantry_refresh" in "".join(response.headers.get_list("set-cookie"))
    me = await client.get("/users/me", headers=bearer(response.json()["access_token"]))
    assert me.status_code == 200
    assert len(await actions(db, "mfa.challenge.succeeded")) == 1
    # The token is single use.
    again = await client.post(
        "/auth/mfa/verify", json={"mfa_token": mfa_token, "code": enrolled.code(1)}
    )
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_mfa_token"


async def test_a_totp_code_is_accepted_once(client: httpx.AsyncClient, enrolled: Enrolled) -> None:
    first = await start_login(client, enrolled.user["email"])
    ok = await client.post("/auth/mfa/verify", json={"mfa_token": first, "code": enrolled.code(1)})
    assert ok.status_code == 200
    second = await start_login(client, enrolled.user["email"])
    replay = await client.post(
        "/auth/mfa/verify", json={"mfa_token": second, "code": enrolled.code(1)}
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_mfa_code"
    # The confirmation's own step is spent too.
    spent = await client.post(
        "/auth/mfa/verify", json={"mfa_token": second, "code": enrolled.code(0)}
    )
    assert spent.json()["code"] == "invalid_mfa_code"


async def test_recovery_code_works_once(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    code = enrolled.recovery_codes[0]
    first = await start_login(client, enrolled.user["email"])
    typed = code.upper().replace("-", " ")
    ok = await client.post("/auth/mfa/verify", json={"mfa_token": first, "recovery_code": typed})
    assert ok.status_code == 200, ok.text
    assert len(await actions(db, "mfa.recovery_code.used")) == 1
    overview = await client.get("/auth/mfa", headers=bearer(ok.json()["access_token"]))
    assert overview.json()["recovery_codes_left"] == 9
    second = await start_login(client, enrolled.user["email"])
    again = await client.post("/auth/mfa/verify", json={"mfa_token": second, "recovery_code": code})
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_mfa_code"


async def test_verify_needs_exactly_one_of_code_and_recovery_code(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    token = await start_login(client, enrolled.user["email"])
    for body in ({"mfa_token": token}, {"mfa_token": token, "code": "1", "recovery_code": "2"}):
        assert (await client.post("/auth/mfa/verify", json=body)).status_code == 422


async def test_five_wrong_codes_kill_the_token(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    token = await start_login(client, enrolled.user["email"])
    for _ in range(5):
        wrong = await client.post("/auth/mfa/verify", json={"mfa_token": token, "code": "000000"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "invalid_mfa_code"
    dead = await client.post(
        "/auth/mfa/verify", json={"mfa_token": token, "code": enrolled.code(1)}
    )
    assert dead.status_code in (401, 429)
    if dead.status_code == 401:
        assert dead.json()["code"] == "invalid_mfa_token"
    assert len(await actions(db, "mfa.challenge.failed")) == 5


async def test_wrong_codes_count_toward_the_email_lockout(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    # Five failures lock the email (LOGIN_MAX_FAILURES=5): four wrong passwords and a
    # wrong code.
    email = enrolled.user["email"]
    for _ in range(4):
        wrong = await client.post("/auth/login", json={"email": email, "password": "wrong pass"})
        assert wrong.status_code == 401
    # The right password with the challenge pending does not reset the count...
    token = await start_login(client, email)
    wrong_code = await client.post("/auth/mfa/verify", json={"mfa_token": token, "code": "000000"})
    assert wrong_code.json()["code"] == "invalid_mfa_code"
    # ...so the email is now locked, even for the right password.
    locked = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "too_many_attempts"


async def test_a_completed_challenge_resets_the_failure_count(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    email = enrolled.user["email"]
    for _ in range(4):
        await client.post("/auth/login", json={"email": email, "password": "wrong pass"})
    token = await start_login(client, email)
    ok = await client.post("/auth/mfa/verify", json={"mfa_token": token, "code": enrolled.code(1)})
    assert ok.status_code == 200
    for _ in range(4):
        wrong = await client.post("/auth/login", json={"email": email, "password": "wrong pass"})
        assert wrong.status_code == 401
    assert (await client.post("/auth/login", json={"email": email, "password": PASSWORD})).json()[
        "code"
    ] == "mfa_required"


async def test_expired_token_is_invalid(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    token = await start_login(client, enrolled.user["email"])
    await db.execute(update(MfaChallenge).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    response = await client.post(
        "/auth/mfa/verify", json={"mfa_token": token, "code": enrolled.code(1)}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_mfa_token"


async def test_token_is_bound_to_the_attempts_address(
    app: Any, client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    token = await start_login(client, enrolled.user["email"])
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        response = await other.post(
            "/auth/mfa/verify", json={"mfa_token": token, "code": enrolled.code(1)}
        )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_mfa_token"


async def test_unknown_token_is_invalid(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/mfa/verify", json={"mfa_token": "x" * 43, "code": "123456"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_mfa_token"


async def test_verify_refuses_cross_site_requests(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    token = await start_login(client, enrolled.user["email"])
    response = await client.post(
        "/auth/mfa/verify",
        json={"mfa_token": token, "code": enrolled.code(1)},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_nothing_about_factors_leaks_before_the_password_is_right(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    plain = await register(client)
    answers = []
    for email in (enrolled.user["email"], plain["email"], "nobody-here@example.com"):
        response = await client.post("/auth/login", json={"email": email, "password": "wrong pw"})
        answers.append((response.status_code, response.json()["code"], sorted(response.json())))
        token_response = await client.post(
            "/auth/token", data={"grant_type": "password", "username": email, "password": "wrong"}
        )
        answers.append((token_response.status_code, token_response.json()["error"], []))
    assert answers[0] == answers[2] == answers[4]
    assert answers[1] == answers[3] == answers[5]
    assert answers[0][1] == "invalid_credentials"


async def test_password_grant_answers_mfa_required_and_the_mfa_grant_completes(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    first = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": enrolled.user["email"], "password": PASSWORD},
    )
    assert first.status_code == 403
    assert first.headers["cache-control"] == "no-store"
    body = first.json()
    assert set(body) == {"error", "error_description", "mfa_token"}
    assert body["error"] == "mfa_required"
    wrong = await client.post(
        "/auth/token",
        data={"grant_type": MFA_GRANT, "mfa_token": body["mfa_token"], "otp": "000000"},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    done = await client.post(
        "/auth/token",
        data={"grant_type": MFA_GRANT, "mfa_token": body["mfa_token"], "otp": enrolled.code(1)},
    )
    assert done.status_code == 200, done.text
    assert {"access_token", "refresh_token", "expires_in", "token_type"} <= set(done.json())
    used = await client.post(
        "/auth/token",
        data={"grant_type": MFA_GRANT, "mfa_token": body["mfa_token"], "otp": enrolled.code(-1)},
    )
    assert used.json()["error"] == "invalid_grant"


async def test_mfa_grant_with_a_recovery_code_and_bad_requests(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    first = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": enrolled.user["email"], "password": PASSWORD},
    )
    mfa_token = first.json()["mfa_token"]
    missing = await client.post(
        "/auth/token", data={"grant_type": MFA_GRANT, "mfa_token": mfa_token}
    )
    assert missing.json()["error"] == "invalid_request"
    done = await client.post(
        "/auth/token",
        data={
            "grant_type": MFA_GRANT,
            "mfa_token": mfa_token,
            "recovery_code": enrolled.recovery_codes[1],
        },
    )
    assert done.status_code == 200, done.text


async def test_fifty_concurrent_verifications_with_one_code_give_one_session(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    tokens = [await start_login(client, enrolled.user["email"]) for _ in range(5)]
    code = enrolled.code(1)

    async def attempt(i: int) -> int:
        response = await client.post(
            "/auth/mfa/verify", json={"mfa_token": tokens[i % 5], "code": code}
        )
        return response.status_code

    sessions_before = len(list(await db.scalars(select(Session))))
    statuses = await asyncio.gather(*(attempt(i) for i in range(50)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 401, 429}
    db.expire_all()
    assert len(list(await db.scalars(select(Session)))) == sessions_before + 1
