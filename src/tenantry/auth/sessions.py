"""Session rows: creation and revocation. Revocation is immediate (DESIGN.md §1.1)
because every protected request reloads its session by primary key."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry.auth.models import Session
from tenantry.config import Settings
from tenantry.db import utcnow
from tenantry.request_context import RequestContext


def start_session(
    db: AsyncSession, *, user_id: uuid.UUID, settings: Settings, context: RequestContext
) -> Session:
    now = utcnow()
    session = Session(
        user_id=user_id,
        created_at=now,
        last_used_at=now,
        expires_at=now + timedelta(seconds=settings.session_max_age_seconds),
        ip=context.ip,
        user_agent=context.user_agent,
    )
    db.add(session)
    return session


async def revoke_user_sessions(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    reason: str,
    keep_session_id: uuid.UUID | None = None,
) -> int:
    """Revoke every live session of a user (but `keep_session_id`); returns how many."""
    statement = (
        update(Session)
        .where(Session.user_id == user_id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if keep_session_id is not None:
        statement = statement.where(Session.id != keep_session_id)
    result = await db.execute(statement.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
