"""Session rows: creation and revocation. Revocation is immediate (DESIGN.md §1.1)
because every protected request reloads its session by primary key."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import utcnow
from tenantry.identity.models import Session, User
from tenantry.identity.schemas import SessionRead
from tenantry.pagination import Page, PageParams, paginate
from tenantry.request_context import RequestContext
from tenantry.security.jwt import ACR_MFA, ACR_PASSWORD


async def signed_in_from(db: AsyncSession, *, email: str, ip: str, settings: Settings) -> bool:
    """Whether the account of `email` started a session from `ip` lately.

    Asked the same way, in one query, whether or not the email is registered.
    """
    since = utcnow() - timedelta(seconds=settings.login_known_source_max_age_seconds)
    known = await db.scalar(
        select(
            exists()
            .where(Session.user_id == User.id)
            .where(User.email == email, Session.ip == ip, Session.created_at >= since)
        )
    )
    return bool(known)


def start_session(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    settings: Settings,
    context: RequestContext,
    amr: list[str] | None = None,
) -> Session:
    """A new session; `amr` are the methods the user proved (RFC 8176), a password
    alone unless told otherwise. Two factors make the `acr` mfa (DESIGN.md §10)."""
    now = utcnow()
    methods = amr or ["pwd"]
    session = Session(
        user_id=user_id,
        created_at=now,
        last_used_at=now,
        auth_time=now,
        amr=methods,
        acr=ACR_MFA if "mfa" in methods else ACR_PASSWORD,
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


async def revoke_session(
    db: AsyncSession,
    *,
    session_id: uuid.UUID,
    reason: str,
    action: str,
    actor_user_id: uuid.UUID,
    context: RequestContext,
) -> bool:
    """Revoke one session and audit it in the same transaction; False if it was not live."""
    result = await db.execute(
        update(Session)
        .where(Session.id == session_id, Session.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    revoked = bool(getattr(result, "rowcount", 0))
    if revoked:
        audit.record(
            db,
            action=action,
            context=context,
            actor_user_id=actor_user_id,
            target_type="session",
            target_id=session_id,
            details={"reason": reason},
        )
    await db.commit()
    return revoked


async def list_live_sessions(
    db: AsyncSession, *, user_id: uuid.UUID, current_session_id: uuid.UUID, page: PageParams
) -> Page[SessionRead]:
    """One page of the user's live sessions, newest first; `current` marks the one
    making the request."""
    statement = select(Session).where(
        Session.user_id == user_id,
        Session.revoked_at.is_(None),
        Session.expires_at > utcnow(),
    )

    def render(session: Session) -> SessionRead:
        return SessionRead(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            ip=session.ip,
            user_agent=session.user_agent,
            current=session.id == current_session_id,
        )

    return await paginate(
        db, statement, key=Session.id, page=page, render=render, newest_first=True
    )
