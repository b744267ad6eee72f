"""Step-up (DESIGN.md §10, RFC 9470): factor removal and new recovery codes need a
recent authentication, with a second factor when the user has one;
`/auth/reauthenticate` gives it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import MfaFactor
from tests.conftest import PASSWORD, bearer
from tests.mfa.conftest import Enrolled, start_login

ACR_MFA = "urn:tenantry:acr:mfa"


async def mfa_token(client: httpx.AsyncClient, enrolled: Enrolled, offset: int = 1) -> str:
    """An access token from a full two-factor sign-in."""
    challenge = await start_login(client, enrolled.user["email"])
    done = await client.post(
        "/auth/mfa/verify", json={"mfa_token": challenge, "code": enrolled.code(offset)}
    )
    assert done.status_code == 200, done.text
    token: str = done.json()["access_token"]
    return token


def aged(app: Any, token: str, seconds: int) -> str:
    """The same session's token, as if its authentication were `seconds` old."""
    claims = jwt.decode(token, options={"verify_signature": False})
    signer = app.state.signer
    issued: str = signer.issue(
        user_id=uuid.UUID(claims["sub"]),
        session_id=uuid.UUID(claims["sid"]),
        auth_time=datetime.now(UTC) - timedelta(seconds=seconds),
        amr=claims["amr"],
        acr=claims["acr"],
    )
    return issued


async def test_a_password_only_session_is_asked_for_the_second_factor(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    # enrolled.token comes from the password sign-in made before the factor existed.
    for method, path in [
        ("DELETE", f"/auth/mfa/factors/{enrolled.factor_id}"),
        ("POST", "/auth/mfa/recovery-codes"),
    ]:
        response = await client.request(method, path, headers=bearer(enrolled.token))
        assert response.status_code == 401, path
        assert response.json()["code"] == "step_up_required"
        assert response.headers["www-authenticate"] == (
            'Bearer error="insufficient_user_authentication", acr_values="urn:tenantry:acr:mfa"'
        )
    assert await db.get(MfaFactor, uuid.UUID(enrolled.factor_id)) is not None


async def test_an_old_authentication_is_asked_for_again(
    app: Any, client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    old = aged(app, await mfa_token(client, enrolled), 601)
    response = await client.delete(f"/auth/mfa/factors/{enrolled.factor_id}", headers=bearer(old))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_user_authentication", max_age="600"'
    )
    # Both missing: both parameters.
    old_pwd = aged(app, enrolled.token, 601)
    both = await client.post("/auth/mfa/recovery-codes", headers=bearer(old_pwd))
    assert both.headers["www-authenticate"] == (
        'Bearer error="insufficient_user_authentication", max_age="600", '
        'acr_values="urn:tenantry:acr:mfa"'
    )
    # Within the window it passes.
    recent = aged(app, await mfa_token(client, enrolled, offset=2), 590)
    ok = await client.post("/auth/mfa/recovery-codes", headers=bearer(recent))
    assert ok.status_code == 200


async def test_removal_after_a_two_factor_sign_in(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    token = await mfa_token(client, enrolled)
    response = await client.delete(f"/auth/mfa/factors/{enrolled.factor_id}", headers=bearer(token))
    assert response.status_code == 204
    assert await db.get(MfaFactor, uuid.UUID(enrolled.factor_id)) is None
    removed = list(
        await db.scalars(select(AuditEvent).where(AuditEvent.action == "mfa.factor.removed"))
    )
    assert len(removed) == 1
    # The last factor gone: the recovery codes went with it, and sign-in is one step.
    overview = await client.get("/auth/mfa", headers=bearer(token))
    assert overview.json() == {"factors": [], "recovery_codes_left": 0}
    login = await client.post(
        "/auth/login", json={"email": enrolled.user["email"], "password": PASSWORD}
    )
    assert login.status_code == 200
    # Another user's factor, or a gone one: 404.
    again = await client.delete(f"/auth/mfa/factors/{enrolled.factor_id}", headers=bearer(token))
    assert again.status_code == 404


async def test_regenerated_codes_replace_the_old_ones(
    client: httpx.AsyncClient, enrolled: Enrolled, db: AsyncSession
) -> None:
    token = await mfa_token(client, enrolled)
    response = await client.post("/auth/mfa/recovery-codes", headers=bearer(token))
    assert response.status_code == 200
    fresh = response.json()["recovery_codes"]
    assert len(fresh) == 10
    assert not set(fresh) & set(enrolled.recovery_codes)
    old = await start_login(client, enrolled.user["email"])
    refused = await client.post(
        "/auth/mfa/verify", json={"mfa_token": old, "recovery_code": enrolled.recovery_codes[0]}
    )
    assert refused.json()["code"] == "invalid_mfa_code"
    accepted = await client.post(
        "/auth/mfa/verify", json={"mfa_token": old, "recovery_code": fresh[0]}
    )
    assert accepted.status_code == 200
    generated = list(
        await db.scalars(
            select(AuditEvent).where(AuditEvent.action == "mfa.recovery_codes.generated")
        )
    )
    assert len(generated) == 2  # with the first factor, and now


async def test_reauthenticate_with_a_code_upgrades_a_password_session(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    before = jwt.decode(enrolled.token, options={"verify_signature": False})
    response = await client.post(
        "/auth/reauthenticate", json={"code": enrolled.code(1)}, headers=bearer(enrolled.token)
    )
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"access_token", "token_type", "expires_in"}
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sid"] == before["sid"]
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA
    assert claims["auth_time"] >= before["auth_time"]
    removed = await client.delete(
        f"/auth/mfa/factors/{enrolled.factor_id}",
        headers=bearer(response.json()["access_token"]),
    )
    assert removed.status_code == 204


async def test_reauthenticate_with_a_password_keeps_the_sessions_factors(
    app: Any, client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    old = aged(app, await mfa_token(client, enrolled), 3600)
    response = await client.post(
        "/auth/reauthenticate", json={"password": PASSWORD}, headers=bearer(old)
    )
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA
    # A password-only session stays password-only: still no second factor.
    pwd = await client.post(
        "/auth/reauthenticate", json={"password": PASSWORD}, headers=bearer(enrolled.token)
    )
    assert jwt.decode(pwd.json()["access_token"], options={"verify_signature": False})["amr"] == [
        "pwd"
    ]
    refused = await client.post(
        "/auth/mfa/recovery-codes", headers=bearer(pwd.json()["access_token"])
    )
    assert refused.json()["code"] == "step_up_required"


async def test_reauthenticate_refuses_wrong_proofs(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    wrong_password = await client.post(
        "/auth/reauthenticate", json={"password": "not it"}, headers=bearer(enrolled.token)
    )
    assert wrong_password.status_code == 400
    assert wrong_password.json()["code"] == "invalid_current_password"
    wrong_code = await client.post(
        "/auth/reauthenticate", json={"code": "000000"}, headers=bearer(enrolled.token)
    )
    assert wrong_code.status_code == 400
    assert wrong_code.json()["code"] == "invalid_mfa_code"
    spent = await client.post(
        "/auth/reauthenticate", json={"code": enrolled.code(0)}, headers=bearer(enrolled.token)
    )
    assert spent.json()["code"] == "invalid_mfa_code"  # the confirmation used that step
    for body in ({}, {"password": PASSWORD, "code": "123456"}):
        response = await client.post(
            "/auth/reauthenticate", json=body, headers=bearer(enrolled.token)
        )
        assert response.status_code == 422
    assert (await client.post("/auth/reauthenticate", json={"password": "x"})).status_code == 401


async def test_reauthenticate_with_a_recovery_code_spends_it(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    code = enrolled.recovery_codes[0]
    ok = await client.post(
        "/auth/reauthenticate", json={"recovery_code": code}, headers=bearer(enrolled.token)
    )
    assert ok.status_code == 200
    token = ok.json()["access_token"]
    assert (await client.get("/auth/mfa", headers=bearer(token))).json()["recovery_codes_left"] == 9
    again = await client.post(
        "/auth/reauthenticate", json={"recovery_code": code}, headers=bearer(token)
    )
    assert again.json()["code"] == "invalid_mfa_code"


async def test_new_codes_without_a_factor_is_409(
    client: httpx.AsyncClient, user_token: tuple[dict[str, Any], str]
) -> None:
    _, token = user_token
    response = await client.post("/auth/mfa/recovery-codes", headers=bearer(token))
    assert response.status_code == 409
    assert response.json()["code"] == "mfa_not_enabled"
