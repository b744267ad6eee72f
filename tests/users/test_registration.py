"""`POST /auth/register` (DESIGN.md §3, §5): normalized unique emails, strict bodies,
no echo of the submitted password, and no 500 when registrations race."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import User
from tests.conftest import PASSWORD, register

SECRET_PASSWORD = "Sup3r-Secret-Tangerine-Orbit"


async def count_users(db: AsyncSession, email: str) -> int:
    return int(await db.scalar(select(func.count()).select_from(User).where(User.email == email)))


async def test_register_returns_the_user_without_secrets(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await client.post(
        "/auth/register",
        json={"email": "new@example.com", "password": PASSWORD, "full_name": "  New Person "},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new@example.com"
    assert body["full_name"] == "New Person"
    assert body["is_active"] is True
    assert body["is_superuser"] is False
    assert "password" not in response.text
    assert "password_hash" not in body
    user = await db.scalar(select(User).where(User.email == "new@example.com"))
    assert user is not None
    assert str(user.id) == body["id"]
    assert user.password_hash.startswith("$2b$")
    assert PASSWORD not in user.password_hash


async def test_email_is_trimmed_and_lower_cased(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client, email="  Alice@Example.COM ")
    assert user["email"] == "alice@example.com"
    assert await count_users(db, "alice@example.com") == 1


async def test_same_email_in_other_case_is_409_email_taken(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await register(client, email="Alice@Example.com ")
    response = await client.post(
        "/auth/register", json={"email": "alice@example.com", "password": SECRET_PASSWORD}
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "email_taken"
    assert await count_users(db, "alice@example.com") == 1


@pytest.mark.parametrize("field", ["is_superuser", "id", "is_active", "email_verified_at"])
async def test_unknown_field_is_422_validation_error(
    client: httpx.AsyncClient, db: AsyncSession, field: str
) -> None:
    value: Any = {"is_superuser": True, "is_active": False}.get(
        field, "00000000-0000-7000-8000-000000000001"
    )
    body = {"email": "sneaky@example.com", "password": SECRET_PASSWORD, field: value}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert [error["loc"] for error in problem["errors"]] == [["body", field]]
    assert SECRET_PASSWORD not in response.text
    assert await count_users(db, "sneaky@example.com") == 0


BAD_BODIES: dict[str, Any] = {
    "extra_field": {"email": "x@example.com", "password": SECRET_PASSWORD, "is_superuser": True},
    "bad_email": {"email": "not-an-email", "password": SECRET_PASSWORD},
    "email_is_the_password": {"email": SECRET_PASSWORD, "password": SECRET_PASSWORD},
    "missing_email": {"password": SECRET_PASSWORD},
    "password_not_a_string": {"email": "x@example.com", "password": [SECRET_PASSWORD]},
    "password_far_too_long": {"email": "x@example.com", "password": SECRET_PASSWORD * 200},
    "full_name_wrong_type": {
        "email": "x@example.com",
        "password": SECRET_PASSWORD,
        "full_name": {"a": SECRET_PASSWORD},
    },
    "body_is_a_list": [SECRET_PASSWORD],
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_invalid_body_never_echoes_the_password(client: httpx.AsyncClient, case: str) -> None:
    response = await client.post("/auth/register", json=BAD_BODIES[case])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert SECRET_PASSWORD not in response.text


async def test_malformed_json_never_echoes_the_password(client: httpx.AsyncClient) -> None:
    raw = '{"email": "x@example.com", "password": "' + SECRET_PASSWORD + '",'
    response = await client.post(
        "/auth/register", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert SECRET_PASSWORD not in response.text


async def test_login_validation_error_never_echoes_the_password(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/auth/login", json={"email": "nobody", "password": SECRET_PASSWORD, "extra": 1}
    )
    assert response.status_code == 422
    assert SECRET_PASSWORD not in response.text
    assert SECRET_PASSWORD not in json.dumps(dict(response.headers))


async def test_concurrent_registrations_of_one_email_give_one_201(
    client: httpx.AsyncClient, db: AsyncSession, is_postgres: bool
) -> None:
    # On PostgreSQL the twenty requests really overlap on twenty connections; SQLite
    # serializes writers, and must still answer 409 (never 500) to the losers.
    email = "race@example.com"

    async def attempt(index: int) -> httpx.Response:
        return await client.post(
            "/auth/register",
            json={"email": email if index % 2 else email.upper(), "password": PASSWORD},
        )

    responses = await asyncio.gather(*(attempt(index) for index in range(20)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 19, [r.text for r in responses if r.status_code >= 500]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "email_taken"
    assert await count_users(db, email) == 1
    winner = await db.scalar(select(User).where(User.email == email))
    assert winner is not None
    events = (
        await db.scalars(select(AuditEvent).where(AuditEvent.action == "user.registered"))
    ).all()
    assert [event.target_id for event in events] == [str(winner.id)]
