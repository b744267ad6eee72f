"""Enrolling a TOTP factor (DESIGN.md §10): secret, URI and QR code, confirmation with
a first code, recovery codes with the first factor only, renaming, and ownership."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import MfaFactor, RecoveryCode
from tenantry.security import totp
from tests.conftest import bearer
from tests.mfa.conftest import Enrolled, enrol, steady_step


async def test_enrolment_answers_secret_uri_and_svg_and_seals_the_secret(
    client: httpx.AsyncClient, user_token: tuple[dict[str, Any], str], db: AsyncSession
) -> None:
    user, token = user_token
    response = await client.post("/auth/mfa/totp", json={}, headers=bearer(token))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"factor_id", "secret", "otpauth_uri", "qr_svg"}
    assert body["otpauth_uri"].startswith("otpauth://totp/")
    assert body["secret"] in body["otpauth_uri"]
    assert body["qr_svg"].lstrip().startswith("<svg")
    assert response.headers["cache-control"] == "no-store"
    row = await db.get(MfaFactor, uuid.UUID(body["factor_id"]))
    assert row is not None
    assert row.confirmed_at is None
    assert row.secret_sealed is not None
    assert body["secret"] not in row.secret_sealed
    # Unconfirmed factors are not factors.
    overview = await client.get("/auth/mfa", headers=bearer(token))
    assert overview.json() == {"factors": [], "recovery_codes_left": 0}
    login = await client.post(
        "/auth/login", json={"email": user["email"], "password": "correct horse battery staple"}
    )
    assert login.status_code == 200


async def test_confirmation_with_a_wrong_code_is_400_and_leaves_it_unconfirmed(
    client: httpx.AsyncClient, user_token: tuple[dict[str, Any], str]
) -> None:
    _, token = user_token
    body = (await client.post("/auth/mfa/totp", json={}, headers=bearer(token))).json()
    step = await steady_step()
    wrong = f"{(int(totp.code_at(body['secret'], step)) + 1) % 1_000_000:06d}"
    response = await client.post(
        f"/auth/mfa/totp/{body['factor_id']}/confirm", json={"code": wrong}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_mfa_code"
    assert (await client.get("/auth/mfa", headers=bearer(token))).json()["factors"] == []


async def test_first_factor_brings_recovery_codes_and_a_second_does_not(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = await enrol(client)
    assert len(first.recovery_codes) == 10
    assert len(set(first.recovery_codes)) == 10
    stored = list(await db.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10
    assert all(code.encode() not in stored for code in first.recovery_codes)
    # A second factor: no new codes, the old ones stay.
    second = (
        await client.post("/auth/mfa/totp", json={"name": "Tablet"}, headers=bearer(first.token))
    ).json()
    step = await steady_step()
    confirmed = await client.post(
        f"/auth/mfa/totp/{second['factor_id']}/confirm",
        json={"code": totp.code_at(second["secret"], step)},
        headers=bearer(first.token),
    )
    assert confirmed.status_code == 200
    assert confirmed.json() == {"recovery_codes": []}
    overview = (await client.get("/auth/mfa", headers=bearer(first.token))).json()
    assert [factor["name"] for factor in overview["factors"]] == ["Phone", "Tablet"]
    assert {factor["kind"] for factor in overview["factors"]} == {"totp"}
    assert set(overview["factors"][0]) == {"id", "kind", "name", "created_at", "last_used_at"}
    assert overview["recovery_codes_left"] == 10
    enrolled_events = await db.scalars(
        select(AuditEvent).where(AuditEvent.action == "mfa.totp.enrolled")
    )
    assert len(list(enrolled_events)) == 2


async def test_confirmation_code_cannot_be_replayed_to_confirm_again(
    client: httpx.AsyncClient, enrolled: Enrolled
) -> None:
    response = await client.post(
        f"/auth/mfa/totp/{enrolled.factor_id}/confirm",
        json={"code": enrolled.code(0)},
        headers=bearer(enrolled.token),
    )
    assert response.status_code == 404  # already confirmed: not a pending factor


async def test_another_users_factor_is_404(client: httpx.AsyncClient, enrolled: Enrolled) -> None:
    other = await enrol(client)
    for method, path, body in [
        ("PATCH", f"/auth/mfa/factors/{enrolled.factor_id}", {"name": "Mine"}),
        ("POST", f"/auth/mfa/totp/{enrolled.factor_id}/confirm", {"code": "123456"}),
    ]:
        response = await client.request(method, path, json=body, headers=bearer(other.token))
        assert response.status_code == 404, (method, path)
        assert response.json()["code"] == "not_found"


async def test_rename_factor(client: httpx.AsyncClient, enrolled: Enrolled) -> None:
    response = await client.patch(
        f"/auth/mfa/factors/{enrolled.factor_id}",
        json={"name": "  Work phone "},
        headers=bearer(enrolled.token),
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Work phone"


async def test_mfa_routes_need_a_bearer_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/auth/mfa")).status_code == 401
    assert (await client.post("/auth/mfa/totp", json={})).status_code == 401
