"""Session listing and revocation; revocation is immediate (DESIGN.md §1.1)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.identity.sessions import start_session
from tenantry.request_context import RequestContext
from tests.auth.conftest import password_grant, refresh_grant
from tests.conftest import bearer, login, register


async def test_sessions_list_marks_the_current_one(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    first = await login(client, account["email"])
    second = await login(client, account["email"])

    response = await client.get("/auth/sessions", headers=bearer(second))

    assert response.status_code == 200
    page = response.json()
    assert page["next_cursor"] is None
    sessions = page["items"]
    assert len(sessions) == 2
    assert [item["current"] for item in sessions].count(True) == 1
    assert {"id", "created_at", "last_used_at", "ip", "user_agent", "current"} <= set(sessions[0])
    assert sessions[0]["ip"] == "203.0.113.7"
    assert (await client.get("/auth/sessions", headers=bearer(first))).status_code == 200


async def test_sessions_come_in_keyset_pages_newest_first(
    app: Any, client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession
) -> None:
    """The list shape of DESIGN.md §5: `?limit=` (default 50, max 200) and `?cursor=`."""
    user_id = uuid.UUID(account["id"])
    context = RequestContext(ip=None, user_agent=None, request_id=None)
    made = [
        start_session(db, user_id=user_id, settings=app.state.settings, context=context)
        for _ in range(54)
    ]
    await db.commit()
    current = await login(client, account["email"])
    newest_first = [str(session.id) for session in reversed(made)]

    first = (await client.get("/auth/sessions", headers=bearer(current))).json()
    assert len(first["items"]) == 50
    assert first["items"][0]["current"] is True
    seen, cursor = [], None
    for _ in range(20):
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/auth/sessions", params=params, headers=bearer(current))
        assert response.status_code == 200, response.text
        seen += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen[1:] == newest_first
    assert len(seen) == 55

    for bad, status, code in (
        ({"limit": 0}, 422, "validation_error"),
        ({"limit": 201}, 422, "validation_error"),
        ({"cursor": "not-a-cursor!"}, 400, "invalid_cursor"),
    ):
        response = await client.get("/auth/sessions", params=bad, headers=bearer(current))
        assert response.status_code == status, bad
        assert response.json()["code"] == code


async def test_deleting_a_session_signs_that_device_out_at_once(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession
) -> None:
    other_device = await password_grant(client, account["email"])
    this_device = await login(client, account["email"])
    sessions = (await client.get("/auth/sessions", headers=bearer(this_device))).json()["items"]
    other_id = next(item["id"] for item in sessions if not item["current"])

    response = await client.delete(f"/auth/sessions/{other_id}", headers=bearer(this_device))

    assert response.status_code == 204
    assert (
        await client.get("/users/me", headers=bearer(other_device["access_token"]))
    ).status_code == 401
    assert (await refresh_grant(client, other_device["refresh_token"])).status_code == 400
    assert (await client.get("/users/me", headers=bearer(this_device))).status_code == 200
    events = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "auth.session.revoked"))
    ).scalars()
    assert [event.target_id for event in events] == [other_id]


async def test_another_users_session_is_404(client: httpx.AsyncClient) -> None:
    alice = await register(client)
    bob = await register(client)
    alice_token = await login(client, alice["email"])
    bob_token = await login(client, bob["email"])
    bob_session = (await client.get("/auth/sessions", headers=bearer(bob_token))).json()["items"][
        0
    ]["id"]

    response = await client.delete(f"/auth/sessions/{bob_session}", headers=bearer(alice_token))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert (await client.get("/users/me", headers=bearer(bob_token))).status_code == 200


async def test_logout_all_revokes_every_session(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession
) -> None:
    tokens = [await login(client, account["email"]) for _ in range(3)]
    pair = await password_grant(client, account["email"])

    response = await client.post("/auth/logout-all", headers=bearer(tokens[0]))

    assert response.status_code == 204
    for token in [*tokens, pair["access_token"]]:
        assert (await client.get("/users/me", headers=bearer(token))).status_code == 401
    assert (await refresh_grant(client, pair["refresh_token"])).status_code == 400
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "auth.logout"))
    ).scalar_one()
    assert event.details == {"scope": "all", "sessions": 4}


async def test_logout_is_audited(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession
) -> None:
    token = await login(client, account["email"])
    assert (await client.post("/auth/logout", headers=bearer(token))).status_code == 204
    actions = (await db.execute(select(AuditEvent.action))).scalars().all()
    assert "auth.logout" in actions
