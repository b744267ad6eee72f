"""Refresh-token rotation with reuse detection (DESIGN.md §4).

A session is one rotation family. Rotation is one conditional UPDATE that only the
holder of the *current* token can win, so concurrent refreshes never fork the family:
on PostgreSQL the losers wait on the row lock, re-check the condition and fail it; on
SQLite the database-wide write lock serializes them the same way.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenantry import audit
from tenantry.config import Settings
from tenantry.db import utcnow
from tenantry.identity.exceptions import InvalidRefreshToken
from tenantry.identity.models import Session, User
from tenantry.observability import metrics
from tenantry.request_context import RequestContext
from tenantry.security.jwt import ACR_PASSWORD
from tenantry.security.tokens import RefreshTokenClaims, RefreshTokenCodec


@dataclass(frozen=True, slots=True)
class TokenFamily:
    """Where a session's refresh-token family stands after a refresh."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    counter: int
    refresh_expires_in: int
    auth_time: datetime | None = None
    amr: list[str] | None = None
    acr: str | None = None


def _refresh_expires_in(session: Session, settings: Settings) -> int:
    sliding_end = session.refreshed_at + timedelta(seconds=settings.refresh_token_ttl_seconds)
    end = min(sliding_end, session.expires_at)
    return max(0, int((end - utcnow()).total_seconds()))


def family_of(session: Session, settings: Settings) -> TokenFamily:
    return TokenFamily(
        user_id=session.user_id,
        session_id=session.id,
        counter=session.refresh_counter,
        refresh_expires_in=_refresh_expires_in(session, settings),
        # Sessions from before these columns: a password sign-in at their start.
        auth_time=session.auth_time or session.created_at,
        amr=session.amr or ["pwd"],
        acr=session.acr or ACR_PASSWORD,
    )


async def rotate(
    db: AsyncSession,
    *,
    claims: RefreshTokenClaims | None,
    settings: Settings,
    context: RequestContext,
) -> TokenFamily:
    """Exchange a refresh token for the next one of its family.

    The current token rotates. The previous token, within the reuse interval, gets
    the family's current token (two tabs, a lost response) and changes nothing. Any
    other older token is a replay: the whole session is revoked.
    """
    if claims is None:  # not a token this service issued
        metrics.REFRESHES.labels("refused").inc()
        raise InvalidRefreshToken()
    now = utcnow()
    active_user = select(User.id).where(User.is_active.is_(True))
    rotated = await db.execute(
        update(Session)
        .where(
            Session.id == claims.session_id,
            Session.refresh_counter == claims.counter,
            Session.revoked_at.is_(None),
            Session.expires_at > now,
            Session.refreshed_at > now - timedelta(seconds=settings.refresh_token_ttl_seconds),
            Session.user_id.in_(active_user),
        )
        .values(
            refresh_counter=Session.refresh_counter + 1,
            refreshed_at=now,
            last_used_at=now,
            ip=context.ip,
            user_agent=context.user_agent,
        )
        .returning(Session)
        .execution_options(synchronize_session=False)
    )
    session = rotated.scalar_one_or_none()
    if session is not None:
        family = family_of(session, settings)
        await db.commit()
        metrics.REFRESHES.labels("rotated").inc()
        return family
    await db.rollback()
    try:
        family = await _answer_stale_token(db, claims.session_id, claims.counter, settings, context)
    except InvalidRefreshToken:
        metrics.REFRESHES.labels("refused").inc()
        raise
    metrics.REFRESHES.labels("retried").inc()
    return family


async def _answer_stale_token(
    db: AsyncSession,
    session_id: uuid.UUID,
    counter: int,
    settings: Settings,
    context: RequestContext,
) -> TokenFamily:
    row = (
        await db.execute(
            select(Session, User.is_active)
            .join(User, User.id == Session.user_id)
            .where(Session.id == session_id)
        )
    ).one_or_none()
    if row is None:
        raise InvalidRefreshToken()
    session, user_active = row
    now = utcnow()
    if session.revoked_at is not None or session.expires_at <= now or not user_active:
        raise InvalidRefreshToken()
    if counter >= session.refresh_counter:
        # The current token itself failed the rotation: its sliding lifetime is over.
        raise InvalidRefreshToken()
    interval = timedelta(seconds=settings.refresh_reuse_interval_seconds)
    if counter == session.refresh_counter - 1 and now - session.refreshed_at <= interval:
        return family_of(session, settings)
    # A token older than the current one, outside the grace interval: someone kept a
    # copy. Revoke the family so neither the thief nor the owner can go on with it.
    revoked = await db.execute(
        update(Session)
        .where(Session.id == session.id, Session.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="refresh_reuse")
        .execution_options(synchronize_session=False)
    )
    if getattr(revoked, "rowcount", 0):
        audit.record(
            db,
            action="auth.refresh.reuse_detected",
            outcome="failure",
            context=context,
            actor_user_id=session.user_id,
            target_type="session",
            target_id=session.id,
            details={
                "presented_generation": counter,
                "current_generation": session.refresh_counter,
            },
        )
    await db.commit()
    if getattr(revoked, "rowcount", 0):
        metrics.REFRESH_REUSE_DETECTED.inc()
    raise InvalidRefreshToken()


async def session_for_token(
    db: AsyncSession, *, token: str, codec: RefreshTokenCodec
) -> Session | None:
    """The live session a refresh token belongs to (any generation), for logout and revoke."""
    claims = codec.decode(token)
    if claims is None:
        return None
    session = await db.get(Session, claims.session_id)
    if session is None or session.revoked_at is not None:
        return None
    return session
