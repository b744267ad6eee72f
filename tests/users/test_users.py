"""`/users/me` and the superuser `/users` endpoints (DESIGN.md §1.1, §5)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.models import Session, User
from tests.conftest import bearer, login, register


async def make_superuser(client: httpx.AsyncClient, db: AsyncSession) -> tuple[dict[str, Any], str]:
    operator = await register(client, email=f"operator-{uuid.uuid4().hex[:8]}@example.com")
    await db.execute(update(User).where(User.email == operator["email"]).values(is_superuser=True))
    await db.commit()
    return operator, await login(client, operator["email"])


async def audit_events(db: AsyncSession, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(
        await db.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


async def stored_user(db: AsyncSession, user_id: str) -> User:
    db.expire_all()
    user = await db.get(User, uuid.UUID(user_id))
    assert user is not None
    return user


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


# --- /users/me ---


async def test_read_me(client: httpx.AsyncClient, user_token: tuple[dict[str, Any], str]) -> None:
    user, token = user_token
    response = await client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == user | {"updated_at": response.json()["updated_at"]}
    assert response.headers["cache-control"] == "no-store"


async def test_update_me_changes_full_name_and_is_audited(
    client: httpx.AsyncClient, db: AsyncSession, user_token: tuple[dict[str, Any], str]
) -> None:
    user, token = user_token
    response = await client.patch(
        "/users/me", json={"full_name": "  Ada Lovelace "}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Ada Lovelace"
    assert (await stored_user(db, user["id"])).full_name == "Ada Lovelace"
    (event,) = await audit_events(db, "user.updated")
    assert str(event.actor_user_id) == user["id"]
    assert event.target_id == user["id"]
    assert event.details == {"fields": ["full_name"]}

    cleared = await client.patch("/users/me", json={"full_name": None}, headers=bearer(token))
    assert cleared.status_code == 200
    assert cleared.json()["full_name"] is None


async def test_update_me_without_change_records_nothing(
    client: httpx.AsyncClient, db: AsyncSession, user_token: tuple[dict[str, Any], str]
) -> None:
    _user, token = user_token
    response = await client.patch("/users/me", json={}, headers=bearer(token))
    assert response.status_code == 200
    assert await audit_events(db, "user.updated") == []


@pytest.mark.parametrize(
    "body",
    [
        {"is_superuser": True},
        {"is_active": True},
        {"email": "other@example.com"},
        {"id": "00000000-0000-7000-8000-000000000001"},
        {"full_name": ""},
        {"full_name": "x" * 201},
    ],
)
async def test_update_me_refuses_other_fields(
    client: httpx.AsyncClient,
    db: AsyncSession,
    user_token: tuple[dict[str, Any], str],
    body: dict[str, Any],
) -> None:
    user, token = user_token
    response = await client.patch("/users/me", json=body, headers=bearer(token))
    assert_problem(response, 422, "validation_error")
    stored = await stored_user(db, user["id"])
    assert stored.is_superuser is False
    assert stored.email == user["email"]


async def test_update_me_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.patch("/users/me", json={"full_name": "Nobody"})
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_delete_me_deactivates_revokes_and_audits(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client)
    token = await login(client, user["email"])
    other_device = await login(client, user["email"])

    response = await client.delete("/users/me", headers=bearer(token))
    assert response.status_code == 204, response.text

    # The very next request with either token fails.
    for access_token in (token, other_device):
        after = await client.get("/users/me", headers=bearer(access_token))
        assert_problem(after, 401, "invalid_token")
        assert after.headers["www-authenticate"] == 'Bearer error="invalid_token"'

    stored = await stored_user(db, user["id"])
    assert stored.is_active is False  # kept, with its audit trail
    sessions = list(await db.scalars(select(Session).where(Session.user_id == stored.id)))
    assert len(sessions) == 2
    assert all(session.revoked_at is not None for session in sessions)
    (event,) = await audit_events(db, "user.deactivated")
    assert str(event.actor_user_id) == user["id"]
    assert event.target_id == user["id"]
    # And the account cannot sign in again.
    relogin = await client.post(
        "/auth/login", json={"email": user["email"], "password": "correct horse battery staple"}
    )
    assert_problem(relogin, 401, "invalid_credentials")


# --- superuser endpoints ---


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users"),
        ("GET", "/users/{id}"),
        ("PATCH", "/users/{id}"),
    ],
)
async def test_non_superuser_gets_403_forbidden(
    client: httpx.AsyncClient,
    db: AsyncSession,
    user_token: tuple[dict[str, Any], str],
    method: str,
    path: str,
) -> None:
    user, token = user_token
    response = await client.request(
        method,
        path.format(id=user["id"]),
        headers=bearer(token),
        json={"is_superuser": True} if method == "PATCH" else None,
    )
    assert_problem(response, 403, "forbidden")
    assert (await stored_user(db, user["id"])).is_superuser is False


async def test_superuser_endpoints_require_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/users"), 401, "not_authenticated")


async def test_superuser_lists_users_page_by_page(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _operator, token = await make_superuser(client, db)
    for _ in range(6):
        await register(client)
    expected = sorted(str(user_id) for user_id in await db.scalars(select(User.id)))
    assert len(expected) == 7

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/users", params=params, headers=bearer(token))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 3
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(seen, key=uuid.UUID)
    assert sorted(seen) == expected


async def test_list_users_default_page_holds_everyone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _operator, token = await make_superuser(client, db)
    await register(client)
    response = await client.get("/users", headers=bearer(token))
    assert response.status_code == 200
    assert len(response.json()["items"]) == 2
    assert response.json()["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["!!!", "abc", "A" * 30, "%00"])
async def test_invalid_cursor_is_400(
    client: httpx.AsyncClient, db: AsyncSession, cursor: str
) -> None:
    _operator, token = await make_superuser(client, db)
    response = await client.get("/users", params={"cursor": cursor}, headers=bearer(token))
    assert_problem(response, 400, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
async def test_invalid_limit_is_422(
    client: httpx.AsyncClient, db: AsyncSession, limit: str
) -> None:
    _operator, token = await make_superuser(client, db)
    response = await client.get("/users", params={"limit": limit}, headers=bearer(token))
    assert_problem(response, 422, "validation_error")


async def test_superuser_reads_a_user(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _operator, token = await make_superuser(client, db)
    user = await register(client)
    response = await client.get(f"/users/{user['id']}", headers=bearer(token))
    assert response.status_code == 200
    assert response.json()["email"] == user["email"]


async def test_unknown_user_id_is_404(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _operator, token = await make_superuser(client, db)
    missing = uuid.uuid4()
    assert_problem(await client.get(f"/users/{missing}", headers=bearer(token)), 404, "not_found")
    assert_problem(
        await client.patch(f"/users/{missing}", json={"is_active": False}, headers=bearer(token)),
        404,
        "not_found",
    )
    assert_problem(
        await client.get("/users/not-a-uuid", headers=bearer(token)), 422, "validation_error"
    )


async def test_superuser_deactivating_a_user_kills_their_token_at_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    operator, operator_token = await make_superuser(client, db)
    user = await register(client)
    user_token = await login(client, user["email"])
    assert (await client.get("/users/me", headers=bearer(user_token))).status_code == 200

    response = await client.patch(
        f"/users/{user['id']}", json={"is_active": False}, headers=bearer(operator_token)
    )
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False

    assert_problem(await client.get("/users/me", headers=bearer(user_token)), 401, "invalid_token")
    sessions = list(
        await db.scalars(select(Session).where(Session.user_id == uuid.UUID(user["id"])))
    )
    assert sessions
    assert all(session.revoked_at is not None for session in sessions)
    (event,) = await audit_events(db, "user.deactivated")
    assert str(event.actor_user_id) == operator["id"]
    assert event.target_id == user["id"]
    # The operator's own session is untouched.
    assert (await client.get("/users/me", headers=bearer(operator_token))).status_code == 200


async def test_superuser_promotes_a_user(client: httpx.AsyncClient, db: AsyncSession) -> None:
    operator, operator_token = await make_superuser(client, db)
    user = await register(client)
    response = await client.patch(
        f"/users/{user['id']}",
        json={"is_superuser": True, "full_name": "New Operator"},
        headers=bearer(operator_token),
    )
    assert response.status_code == 200, response.text
    stored = await stored_user(db, user["id"])
    assert stored.is_superuser is True
    assert stored.full_name == "New Operator"
    (event,) = await audit_events(db, "user.updated")
    assert str(event.actor_user_id) == operator["id"]
    assert event.details == {"fields": ["full_name", "is_superuser"]}
    # The promoted user can now list users.
    new_token = await login(client, user["email"])
    assert (await client.get("/users", headers=bearer(new_token))).status_code == 200


async def test_admin_update_refuses_unknown_fields(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _operator, token = await make_superuser(client, db)
    user = await register(client)
    response = await client.patch(
        f"/users/{user['id']}", json={"password_hash": "x"}, headers=bearer(token)
    )
    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("flag", ["is_active", "is_superuser"])
async def test_admin_flags_are_booleans_not_numbers_or_words(
    client: httpx.AsyncClient, db: AsyncSession, flag: str
) -> None:
    _operator, token = await make_superuser(client, db)
    user = await register(client)
    for value in (0, 1, "no", "true"):
        response = await client.patch(
            f"/users/{user['id']}", json={flag: value}, headers=bearer(token)
        )
        assert_problem(response, 422, "validation_error")
