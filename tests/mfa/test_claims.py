"""`auth_time`, `amr` and `acr` in access tokens (DESIGN.md §10, RFC 8176), kept on
refresh, and how validation treats them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest

from tenantry.security.jwt import TokenError, TokenSigner
from tests.auth.conftest import password_grant, refresh_grant
from tests.conftest import PASSWORD, register
from tests.mfa.conftest import Enrolled, start_login

MFA_GRANT = "urn:tenantry:params:oauth:grant-type:mfa"


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def test_password_sign_in_has_pwd_claims(client: httpx.AsyncClient) -> None:
    account = await register(client)
    before = int(time.time())
    tokens = await password_grant(client, account["email"])
    claims = claims_of(tokens["access_token"])
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == "urn:tenantry:acr:pwd"
    assert before - 1 <= claims["auth_time"] <= int(time.time()) + 1
    refreshed = await refresh_grant(client, tokens["refresh_token"])
    again = claims_of(refreshed.json()["access_token"])
    assert (again["amr"], again["acr"], again["auth_time"]) == (
        ["pwd"],
        "urn:tenantry:acr:pwd",
        claims["auth_time"],
    )


@pytest.mark.parametrize("with_recovery_code", [False, True])
async def test_a_second_factor_gives_mfa_claims_that_refresh_keeps(
    client: httpx.AsyncClient, enrolled: Enrolled, with_recovery_code: bool
) -> None:
    first = await client.post(
        "/auth/token",
        data={"grant_type": "password", "username": enrolled.user["email"], "password": PASSWORD},
    )
    proof = (
        {"recovery_code": enrolled.recovery_codes[0]}
        if with_recovery_code
        else {"otp": enrolled.code(1)}
    )
    done = await client.post(
        "/auth/token",
        data={"grant_type": MFA_GRANT, "mfa_token": first.json()["mfa_token"], **proof},
    )
    assert done.status_code == 200, done.text
    claims = claims_of(done.json()["access_token"])
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == "urn:tenantry:acr:mfa"
    refreshed = await refresh_grant(client, done.json()["refresh_token"])
    again = claims_of(refreshed.json()["access_token"])
    assert again["amr"] == ["pwd", "otp", "mfa"]
    assert again["acr"] == "urn:tenantry:acr:mfa"
    assert again["auth_time"] == claims["auth_time"]


async def test_browser_verify_gives_mfa_claims(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    token = await start_login(client, enrolled.user["email"])
    done = await client.post(
        "/auth/mfa/verify", json={"mfa_token": token, "code": enrolled.code(1)}
    )
    assert claims_of(done.json()["access_token"])["acr"] == "urn:tenantry:acr:mfa"


def test_validation_reads_the_claims_and_refuses_wrong_types(settings: Any) -> None:
    import uuid
    from datetime import UTC, datetime

    signer = TokenSigner(settings)
    now = datetime.now(UTC)
    token = signer.issue(
        user_id=uuid.uuid4(),
        session_id=uuid.uuid4(),
        auth_time=now,
        amr=["pwd", "otp", "mfa"],
        acr="urn:tenantry:acr:mfa",
    )
    claims = signer.validate(token)
    assert claims.auth_time == int(now.timestamp())
    assert claims.amr == ("pwd", "otp", "mfa")
    assert claims.acr == "urn:tenantry:acr:mfa"
    # Tokens from before the claims existed still validate, with none of them.
    old = signer.validate(signer.issue(user_id=uuid.uuid4(), session_id=uuid.uuid4()))
    assert (old.auth_time, old.amr, old.acr) == (None, (), None)
    payload = claims_of(token)
    for name, bad in [
        ("auth_time", "yesterday"),
        ("auth_time", True),
        ("amr", "pwd"),
        ("amr", [1]),
        ("acr", 3),
    ]:
        forged = {**payload, name: bad}
        signed = jwt.encode(
            forged,
            settings.signing_secret,
            algorithm="HS256",
            headers={"typ": "at+jwt", "kid": signer.kid},
        )
        with pytest.raises(TokenError):
            signer.validate(signed)
