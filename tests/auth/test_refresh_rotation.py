"""Refresh-token rotation, the reuse interval and reuse detection (DESIGN.md §4)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.audit.models import AuditEvent
from tenantry.db import utcnow
from tenantry.identity.models import Session
from tenantry.main import create_app
from tests.auth.conftest import password_grant, refresh_grant
from tests.conftest import bearer, make_settings


@pytest.fixture
async def strict_client(app: Any, migrated_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose reuse interval is zero: any replay of a rotated token is theft."""
    strict = create_app(make_settings(migrated_url, refresh_reuse_interval_seconds=0))
    transport = httpx.ASGITransport(app=strict)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await strict.state.engine.dispose()


async def _session_row(db: AsyncSession, session_id: uuid.UUID) -> Session:
    db.expire_all()
    row = await db.get(Session, session_id)
    assert row is not None
    return row


def _session_id_of(app: Any, refresh_token: str) -> uuid.UUID:
    claims = app.state.refresh_codec.decode(refresh_token)
    assert claims is not None
    session_id: uuid.UUID = claims.session_id
    return session_id


async def test_each_refresh_returns_a_new_refresh_token(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    first = await password_grant(client, account["email"])
    seen = {first["refresh_token"]}
    token = first["refresh_token"]
    for _ in range(3):
        response = await refresh_grant(client, token)
        assert response.status_code == 200
        body = response.json()
        assert body["refresh_token"] not in seen
        seen.add(body["refresh_token"])
        token = body["refresh_token"]
        me = await client.get("/users/me", headers=bearer(body["access_token"]))
        assert me.status_code == 200


async def test_retry_within_interval_gets_the_current_pair_and_revokes_nothing(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession, app: Any
) -> None:
    first = await password_grant(client, account["email"])
    rotated = (await refresh_grant(client, first["refresh_token"])).json()

    retry = await refresh_grant(client, first["refresh_token"])

    assert retry.status_code == 200
    assert retry.json()["refresh_token"] == rotated["refresh_token"]  # the tabs converge
    me = await client.get("/users/me", headers=bearer(retry.json()["access_token"]))
    assert me.status_code == 200
    session = await _session_row(db, _session_id_of(app, first["refresh_token"]))
    assert session.revoked_at is None
    assert session.refresh_counter == 1
    assert (await refresh_grant(client, rotated["refresh_token"])).status_code == 200


async def test_reused_refresh_token_after_interval_revokes_session(
    strict_client: httpx.AsyncClient, db: AsyncSession, app: Any
) -> None:
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    await strict_client.post(
        "/auth/register", json={"email": email, "password": "correct horse battery staple"}
    )
    first = await password_grant(strict_client, email)
    newest = (await refresh_grant(strict_client, first["refresh_token"])).json()
    newest_access = newest["access_token"]

    replay = await refresh_grant(strict_client, first["refresh_token"])

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert (await refresh_grant(strict_client, first["refresh_token"])).status_code == 400
    assert (await refresh_grant(strict_client, newest["refresh_token"])).status_code == 400
    me = await strict_client.get("/users/me", headers=bearer(newest_access))
    assert me.status_code == 401
    session_id = _session_id_of(app, first["refresh_token"])
    session = await _session_row(db, session_id)
    assert session.revoked_reason == "refresh_reuse"
    events = (
        await db.execute(
            select(AuditEvent).where(AuditEvent.action == "auth.refresh.reuse_detected")
        )
    ).scalars()
    assert [event.target_id for event in events] == [str(session_id)]


async def test_refresh_token_expires_after_its_sliding_lifetime(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession, app: Any
) -> None:
    pair = await password_grant(client, account["email"])
    session_id = _session_id_of(app, pair["refresh_token"])
    ttl = app.state.settings.refresh_token_ttl_seconds
    await db.execute(
        update(Session)
        .where(Session.id == session_id)
        .values(refreshed_at=utcnow() - timedelta(seconds=ttl + 1))
    )
    await db.commit()

    response = await refresh_grant(client, pair["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_session_absolute_lifetime_ends_refresh_and_access(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession, app: Any
) -> None:
    pair = await password_grant(client, account["email"])
    session_id = _session_id_of(app, pair["refresh_token"])
    await db.execute(update(Session).where(Session.id == session_id).values(expires_at=utcnow()))
    await db.commit()

    assert (await refresh_grant(client, pair["refresh_token"])).status_code == 400
    me = await client.get("/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 401


async def test_refresh_token_is_never_accepted_as_bearer(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    pair = await password_grant(client, account["email"])
    response = await client.get("/users/me", headers=bearer(pair["refresh_token"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_access_token_is_never_accepted_as_refresh_token(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    pair = await password_grant(client, account["email"])
    response = await refresh_grant(client, pair["access_token"])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_tampered_refresh_token_is_refused(
    client: httpx.AsyncClient, account: dict[str, Any]
) -> None:
    token = (await password_grant(client, account["email"]))["refresh_token"]
    flipped = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert (await refresh_grant(client, flipped)).status_code == 400
    assert (await refresh_grant(client, "x" * len(token))).status_code == 400
    assert (await refresh_grant(client, "")).status_code == 400


async def test_refresh_for_deactivated_user_fails(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession
) -> None:
    pair = await password_grant(client, account["email"])
    deleted = await client.delete("/users/me", headers=bearer(pair["access_token"]))
    assert deleted.status_code == 204
    assert (await refresh_grant(client, pair["refresh_token"])).status_code == 400


async def test_concurrent_refreshes_with_one_token_never_fork_the_family(
    client: httpx.AsyncClient, account: dict[str, Any], db: AsyncSession, app: Any
) -> None:
    pair = await password_grant(client, account["email"])

    responses = await asyncio.gather(
        *(refresh_grant(client, pair["refresh_token"]) for _ in range(50))
    )

    statuses = [response.status_code for response in responses]
    # Within the reuse interval every retry gets the family's current pair.
    assert statuses == [200] * 50, [r.text for r in responses if r.status_code != 200]
    minted = {
        response.json()["refresh_token"] for response in responses if response.status_code == 200
    }
    assert len(minted) == 1  # at most one new family member
    session = await _session_row(db, _session_id_of(app, pair["refresh_token"]))
    assert session.refresh_counter == 1
    assert session.revoked_at is None
    winner = minted.pop()
    after = await refresh_grant(client, winner)
    assert after.status_code == 200
    me = await client.get("/users/me", headers=bearer(after.json()["access_token"]))
    assert me.status_code == 200
