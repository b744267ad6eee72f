"""Audit events live and die with their change (DESIGN.md §1.5): a rolled-back
transaction leaves no event, a committed one always has its event."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantry import audit
from tenantry.audit.models import AuditEvent
from tenantry.identity.models import User
from tenantry.request_context import RequestContext
from tests.conftest import PASSWORD, register

CONTEXT = RequestContext(ip="198.51.100.4", user_agent="audit-test", request_id="req-audit")


class Boom(Exception):
    pass


def sessions(app: Any) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def count_events(db: AsyncSession, action: str, target_id: str | None = None) -> int:
    statement = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    if target_id is not None:
        statement = statement.where(AuditEvent.target_id == target_id)
    return int(await db.scalar(statement))


async def test_rolled_back_transaction_leaves_no_event(app: Any, db: AsyncSession) -> None:
    async with sessions(app)() as session:
        audit.record(session, action="test.rolled_back", context=CONTEXT)
        await session.flush()  # written inside the transaction, then undone
        await session.rollback()
    assert await count_events(db, "test.rolled_back") == 0


async def register_then_fail(app: Any, user_id: uuid.UUID) -> None:
    async with sessions(app)() as session, session.begin():
        session.add(User(id=user_id, email="ghost@example.com", password_hash="x"))
        await session.flush()
        audit.record(
            session,
            action="user.registered",
            context=CONTEXT,
            actor_user_id=user_id,
            target_type="user",
            target_id=user_id,
        )
        await session.flush()
        raise Boom


async def test_exception_inside_transaction_leaves_neither_change_nor_event(
    app: Any, db: AsyncSession
) -> None:
    user_id = uuid.uuid4()
    with pytest.raises(Boom):
        await register_then_fail(app, user_id)
    assert await db.get(User, user_id) is None
    assert await count_events(db, "user.registered", str(user_id)) == 0


async def test_committed_transaction_has_change_and_event(app: Any, db: AsyncSession) -> None:
    user_id = uuid.uuid4()
    async with sessions(app)() as session, session.begin():
        session.add(User(id=user_id, email="kept@example.com", password_hash="x"))
        audit.record(
            session,
            action="user.registered",
            context=CONTEXT,
            actor_user_id=user_id,
            target_type="user",
            target_id=user_id,
            details={"note": "line\nbreak=forged"},
        )
    assert await db.get(User, user_id) is not None
    event = await db.scalar(select(AuditEvent).where(AuditEvent.target_id == str(user_id)))
    assert event is not None
    assert event.action == "user.registered"
    assert event.outcome == "success"
    assert (event.ip, event.user_agent, event.request_id) == (
        "198.51.100.4",
        "audit-test",
        "req-audit",
    )
    # User-supplied text is stored as data, exactly as given.
    assert event.details == {"note": "line\nbreak=forged"}
    assert event.occurred_at.tzinfo is not None


async def test_failed_unique_insert_rolls_back_its_event(app: Any, db: AsyncSession) -> None:
    # The change fails at the database (duplicate email), after the event was added.
    async with sessions(app)() as session, session.begin():
        session.add(User(email="taken@example.com", password_hash="x"))
    duplicate_id = uuid.uuid4()

    async def register_duplicate() -> None:
        async with sessions(app)() as session, session.begin():
            audit.record(session, action="user.registered", context=CONTEXT, target_id=duplicate_id)
            session.add(User(id=duplicate_id, email="taken@example.com", password_hash="x"))

    with pytest.raises(IntegrityError):
        await register_duplicate()
    assert await count_events(db, "user.registered", str(duplicate_id)) == 0


async def test_registration_refused_with_409_leaves_no_event(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    user = await register(client, email="once@example.com")
    assert await count_events(db, "user.registered") == 1
    response = await client.post(
        "/auth/register", json={"email": "ONCE@example.com", "password": PASSWORD}
    )
    assert response.status_code == 409
    events = list(await db.scalars(select(AuditEvent)))
    assert [(event.action, event.target_id) for event in events] == [
        ("user.registered", user["id"])
    ]


async def test_registration_refused_for_weak_password_leaves_no_event(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    response = await client.post(
        "/auth/register", json={"email": "weak@example.com", "password": "password"}
    )
    assert response.status_code == 422
    assert await count_events(db, "user.registered") == 0
    assert await db.scalar(select(User).where(User.email == "weak@example.com")) is None


async def test_every_committed_registration_has_its_event(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    users = [await register(client) for _ in range(3)]
    for user in users:
        assert await count_events(db, "user.registered", user["id"]) == 1
